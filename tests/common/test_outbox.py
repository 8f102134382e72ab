"""The transactional outbox and its relay, against a real nats-server and both databases."""

import asyncio
import json

import pytest
from sqlalchemy import func, select

from fangpin_common import outbox
from fangpin_common.tables import OUTBOX
from fangpin_common.testing import eventually, running, stream_messages

from .conftest import Handled, kit_app, ping


async def pending(app) -> int:
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(OUTBOX))).scalar_one()


def published(app) -> int:
    return int(sum(s.value for m in app.state.metrics.registry.collect()
                   if m.name == "fangpin_events_published" for s in m.samples
                   if s.name.endswith("_total")))


async def test_rolled_back_change_sends_nothing(database, private_nats):
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    async with running(app):
        with pytest.raises(RuntimeError):
            async with app.state.db.unit_of_work() as session:
                await outbox.emit(session, ping(1))
                raise RuntimeError("the business change failed")
        async with app.state.db.unit_of_work() as session:
            await outbox.emit(session, ping(2))
        await eventually(lambda: published(app) == 1)
        await asyncio.sleep(0.3)
        messages = [json.loads(m) for m in await stream_messages(private_nats.url,
                                                                 "FANGPIN_MONITORING")]
        assert [m["data"]["case_id"] for m in messages] == ["ping-2"]
        assert await pending(app) == 0


async def test_events_wait_out_a_nats_outage(database, private_nats):
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    async with running(app):
        private_nats.stop(kill=True)
        for n in range(50):
            async with app.state.db.unit_of_work() as session:
                await outbox.emit(session, ping(n))
        await asyncio.sleep(1.0)
        assert await pending(app) == 50  # kept, not lost, while NATS is away
        private_nats.start()
        await eventually(lambda: published(app) == 50, timeout=40)
        assert await pending(app) == 0
        messages = await stream_messages(private_nats.url, "FANGPIN_MONITORING")
        assert sorted(json.loads(m)["data"]["case_id"] for m in messages) == sorted(
            f"ping-{n}" for n in range(50))


@pytest.mark.parametrize("backend", ["postgresql"])  # replicas share a database on PostgreSQL
async def test_two_relays_on_one_postgres_publish_each_event_once(database, private_nats):
    first = kit_app(database, private_nats.url, Handled(), run_consumers=False,
                    relay_batch_size=20)
    second_settings = first.state.settings.model_copy()
    second = kit_app({"database_url": second_settings.database_url,
                      "database_schema": second_settings.database_schema},
                     private_nats.url, Handled(), run_consumers=False, relay_batch_size=20)
    async with running(first), running(second, migrate=False):
        for chunk in range(10):
            async with first.state.db.unit_of_work() as session:
                for n in range(chunk * 50, chunk * 50 + 50):
                    await outbox.emit(session, ping(n))
        await eventually(lambda: published(first) + published(second) >= 500, timeout=60)
        await asyncio.sleep(0.5)
        assert published(first) + published(second) == 500
        assert published(first) > 0 and published(second) > 0  # both did work
        assert len(await stream_messages(private_nats.url, "FANGPIN_MONITORING")) == 500
