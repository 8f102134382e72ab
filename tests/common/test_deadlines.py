"""The deadline ledger: due-soon and overdue events exactly once, on both databases."""

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import select

from fangpin_common.deadlines import DeadlineRule, meet_deadline, open_deadline
from fangpin_common.tables import DEADLINES, OUTBOX
from fangpin_common.testing import running

from .conftest import Handled, kit_app

RULE = DeadlineRule("case.helper", days=5, warn_days=1)


async def open_many(app, n: int, start: date) -> None:
    async with app.state.db.unit_of_work() as session:
        for i in range(n):
            await open_deadline(session, RULE, subject_type="case", subject_id=f"case-{i}",
                                started_on=start, now=app.state.clock.now(),
                                household_id=f"h-{i}", township="450224103", village="v")


async def queued(app) -> list[tuple[str, str]]:
    async with app.state.db.session() as session:
        rows = await session.execute(select(OUTBOX.c.event_type, OUTBOX.c.payload))
        return sorted((t.rsplit(".", 1)[1], json.loads(p)["subject"]) for t, p in rows)


async def test_due_soon_then_overdue_each_once(database, private_nats, clock):
    app = kit_app(database, private_nats.url, Handled(), clock, run_relay=False, run_scanners=False,
                  run_consumers=False)
    async with running(app):
        await open_many(app, 3, date(2024, 4, 10))  # due 15 April, due soon from 14 April
        async with app.state.db.unit_of_work() as session:
            await meet_deadline(session, "case.helper", "case-2", date(2024, 4, 11))
        scanner = app.state.scanner
        assert await scanner.scan() == 0
        clock.set_today(date(2024, 4, 14))
        assert await scanner.scan() == 2
        assert await scanner.scan() == 0
        clock.set_today(date(2024, 4, 15))  # the due date itself is not overdue
        assert await scanner.scan() == 0
        clock.set_today(date(2024, 4, 16))
        assert await scanner.scan() == 2
        clock.set_today(date(2024, 4, 30))
        assert await scanner.scan() == 0
        assert await queued(app) == [
            ("helper_due_soon", "case-0"), ("helper_due_soon", "case-1"),
            ("helper_overdue", "case-0"), ("helper_overdue", "case-1")]
        async with app.state.db.session() as session:
            states = dict((await session.execute(
                select(DEADLINES.c.subject_id, DEADLINES.c.state))).all())
        assert states == {"case-0": "overdue", "case-1": "overdue", "case-2": "met"}


async def test_overdue_event_carries_how_late(database, private_nats, clock):
    app = kit_app(database, private_nats.url, Handled(), clock, run_relay=False, run_scanners=False,
                  run_consumers=False)
    async with running(app):
        await open_many(app, 1, date(2024, 4, 1))
        clock.set_today(date(2024, 4, 9))
        await app.state.scanner.scan()
        async with app.state.db.session() as session:
            payloads = [json.loads(p) for (p,) in await session.execute(
                select(OUTBOX.c.payload).where(OUTBOX.c.event_type.like("%overdue")))]
        assert payloads[0]["data"]["days_overdue"] == 3
        assert payloads[0]["data"]["due_on"] == "2024-04-06"
        assert payloads[0]["data"]["township"] == "450224103"


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_two_replicas_scanning_emit_each_event_once(database, private_nats, clock):
    first = kit_app(database, private_nats.url, Handled(), clock, run_relay=False, run_scanners=False,
                    run_consumers=False)
    s = first.state.settings
    second = kit_app({"database_url": s.database_url, "database_schema": s.database_schema},
                     private_nats.url, Handled(), clock, run_relay=False, run_consumers=False,
                  run_scanners=False)
    first.state.scanner.batch_size = second.state.scanner.batch_size = 50
    async with running(first), running(second, migrate=False):
        await open_many(first, 600, date(2024, 4, 1))
        clock.set_today(date(2024, 4, 5))
        counts = await asyncio.gather(*(app.state.scanner.scan()
                                        for app in (first, second, first, second)))
        assert sum(counts) == 600
        clock.set_today(date(2024, 4, 10))
        counts = await asyncio.gather(*(app.state.scanner.scan()
                                        for app in (first, second, first, second)))
        assert sum(counts) == 600  # however the four scans shared the rows
        events = await queued(first)
        assert len(events) == 1200
        assert len(set(events)) == 1200  # no (kind, subject) twice


async def test_a_scan_over_several_batches_queues_each_event_once(database, private_nats, clock):
    # Batches of 500 go to the outbox in one statement each (COPY on PostgreSQL).
    app = kit_app(database, private_nats.url, Handled(), clock, run_relay=False, run_scanners=False,
                  run_consumers=False)
    async with running(app):
        await open_many(app, 1100, date(2024, 4, 1))
        clock.set_today(date(2024, 4, 5))
        assert await app.state.scanner.scan() == 1100
        assert await app.state.scanner.scan() == 0
        events = await queued(app)
        assert len(set(events)) == len(events) == 1100
        assert {kind for kind, _ in events} == {"helper_due_soon"}
        assert {subject for _, subject in events} == {f"case-{i}" for i in range(1100)}
