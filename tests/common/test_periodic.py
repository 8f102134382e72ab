"""A background loop outlives a failed round: it is logged and the next round runs."""

import asyncio
import logging

from fangpin_common.periodic import every


async def test_a_failed_round_is_logged_and_the_next_one_runs(caplog):
    rounds: list[int] = []
    third = asyncio.Event()

    async def work() -> None:
        rounds.append(len(rounds) + 1)
        if len(rounds) == 3:
            third.set()
        if len(rounds) == 1:
            raise RuntimeError("database away")

    with caplog.at_level(logging.ERROR, logger="fangpin_common.periodic"):
        loop = asyncio.create_task(every(0, work, "test scan"))
        await asyncio.wait_for(third.wait(), 5)
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert rounds[:3] == [1, 2, 3] and loop.cancelled()
    [record] = caplog.records
    assert record.getMessage() == "test scan failed; tried again at the next round"
    assert "database away" in caplog.text
