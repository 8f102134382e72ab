"""A stopping service waits for its loops a bounded time: one that will not stop is named in
the log and the shutdown goes on."""

import asyncio
import logging

from fangpin_common.service import stop


async def test_loops_that_stop_are_awaited_and_one_that_does_not_is_logged(caplog):
    finished: list[str] = []

    async def well_behaved() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            finished.append("well_behaved")

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(3600)  # stuck on something else: shutdown must not wait for it

    tasks = [asyncio.create_task(well_behaved(), name="consumer x"),
             asyncio.create_task(stubborn(), name="dispatcher")]
    await asyncio.sleep(0)
    with caplog.at_level(logging.ERROR, logger="fangpin_common.service"):
        await asyncio.wait_for(stop(tasks, grace=0.2), 5)
    assert finished == ["well_behaved"] and tasks[0].done()
    [record] = [r for r in caplog.records if "did not stop" in r.getMessage()]
    assert record.fields["task"] == "dispatcher" and "stubborn" in record.fields["stack"]
    tasks[1].cancel()
    await asyncio.gather(tasks[1], return_exceptions=True)
