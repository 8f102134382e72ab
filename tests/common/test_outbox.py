"""The transactional outbox and its relay, against a real nats-server and both databases."""

import asyncio
import json

import pytest
from sqlalchemy import func, select

from fangpin_common import outbox
from fangpin_common.tables import OUTBOX
from fangpin_common.testing import eventually, running, stream_messages, wire_tap

from .conftest import Handled, kit_app, ping


async def pending(app) -> int:
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(OUTBOX))).scalar_one()


def published(app) -> int:
    return int(sum(s.value for m in app.state.metrics.registry.collect()
                   if m.name == "fangpin_events_published" for s in m.samples
                   if s.name.endswith("_total")))


class EmptyClaims:
    """Counts a relay's claims that found nothing. Its loop settles every batch in flight
    before the claim after an empty one, so two empty claims counted from a moment the
    outbox was empty mean that all its publishes since have been acknowledged."""

    def __init__(self, relay) -> None:
        self.count = 0
        original = relay._claim

        async def claim():
            rows = await original()
            if not rows:
                self.count += 1
            return rows

        relay._claim = claim

    async def two_more(self) -> None:
        target = self.count + 2
        await eventually(lambda: self.count >= target, timeout=30)


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
        # The relay publishes outbox rows only: with none left, nothing more can arrive.
        assert await pending(app) == 0
        messages = [json.loads(m) for m in await stream_messages(private_nats.url,
                                                                 "FANGPIN_MONITORING")]
        assert [m["data"]["case_id"] for m in messages] == ["ping-2"]


async def test_events_wait_out_a_nats_outage(database, private_nats):
    app = kit_app(database, private_nats.url, Handled(), run_consumers=False)
    async with running(app):
        private_nats.stop(kill=True)
        await eventually(lambda: not app.state.bus.connected)
        for n in range(50):
            async with app.state.db.unit_of_work() as session:
                await outbox.emit(session, ping(n))
        # Woken by those commits, the relay has tried at least once and found no NATS.
        await eventually(lambda: publish_failures(app) > 0)
        assert await pending(app) == 50  # kept, not lost, while NATS is away
        private_nats.start()
        await eventually(lambda: published(app) == 50, timeout=40)
        assert await pending(app) == 0
        messages = await stream_messages(private_nats.url, "FANGPIN_MONITORING")
        assert sorted(json.loads(m)["data"]["case_id"] for m in messages) == sorted(
            f"ping-{n}" for n in range(50))


@pytest.mark.parametrize("backend", ["postgresql"])  # replicas share a database on PostgreSQL
async def test_two_relays_on_one_postgres_publish_each_event_once(database, private_nats):
    # Which relay claims which batch is up to the scheduler (one may well take them all):
    # the promise is about the events, each published once and none lost.
    first = kit_app(database, private_nats.url, Handled(), run_consumers=False,
                    relay_batch_size=20)
    second = kit_app(shared_database(first), private_nats.url, Handled(), run_consumers=False,
                     relay_batch_size=20)
    idle = [EmptyClaims(app.state.relay) for app in (first, second)]
    async with wire_tap(private_nats.url) as tap:
        async with running(first), running(second, migrate=False):
            ids = await emit_pings(first, 500)
            await eventually(lambda: pending_is(first, 0), timeout=60)
            for relay in idle:
                await relay.two_more()
            await tap.settle()
            assert sorted(tap.ids()) == sorted(ids)  # on the wire once each, duplicates too
            assert published(first) + published(second) == 500
        assert len(await stream_messages(private_nats.url, "FANGPIN_MONITORING")) == 500


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_a_relay_paused_on_its_lease_is_taken_over_when_the_lease_ends(database,
                                                                           private_nats):
    """The first relay claims a batch and stalls before publishing it, as a paused or dead
    replica would; the second publishes everything else, and that batch only once the lease
    has run out."""
    first = kit_app(database, private_nats.url, Handled(), run_consumers=False,
                    relay_batch_size=20, relay_lease_seconds=2.0)
    second = kit_app(shared_database(first), private_nats.url, Handled(), run_consumers=False,
                     run_relay=False, relay_batch_size=20)
    stalled = asyncio.Event()
    held: list[str] = []

    async def stall(rows):
        held.extend(row.id for row in rows)
        stalled.set()
        await asyncio.Event().wait()  # paused for good, the lease held

    first.state.relay._send = stall
    async with wire_tap(private_nats.url) as tap:
        async with running(first), running(second, migrate=False):
            ids = await emit_pings(first, 500)
            await asyncio.wait_for(stalled.wait(), 30)
            async with first.state.db.session() as session:
                leases = (await session.execute(select(OUTBOX.c.claimed_until)
                                                .where(OUTBOX.c.id.in_(held)))).scalars().all()
            assert len(held) == len(leases) == 20
            lease_end = max(leases)
            idle = EmptyClaims(second.state.relay)
            taking_over = asyncio.create_task(second.state.relay.run())
            try:
                await eventually(lambda: pending_is(first, 0), timeout=60)
                await idle.two_more()
            finally:
                taking_over.cancel()
                await asyncio.gather(taking_over, return_exceptions=True)
            await tap.settle()
        assert sorted(tap.ids()) == sorted(ids)  # each once: no event lost, none twice
        assert published(first) == 0 and published(second) == 500
        assert all(at >= lease_end for event_id, at in tap.seen if event_id in held)
        assert len(await stream_messages(private_nats.url, "FANGPIN_MONITORING")) == 500


def shared_database(app) -> dict:
    """The database (and on PostgreSQL the schema) of `app`, for a second replica."""
    settings = app.state.settings
    return {"database_url": settings.database_url, "database_schema": settings.database_schema}


async def emit_pings(app, n: int) -> list[str]:
    events = [ping(i) for i in range(n)]
    for start in range(0, n, 50):
        async with app.state.db.unit_of_work() as session:
            for event in events[start:start + 50]:
                await outbox.emit(session, event)
    return [event.id for event in events]


async def pending_is(app, n: int) -> bool:
    return await pending(app) == n


def publish_failures(app) -> int:
    return int(sum(s.value for m in app.state.metrics.registry.collect()
                   if m.name == "fangpin_events_publish_failed" for s in m.samples
                   if s.name.endswith("_total")))
