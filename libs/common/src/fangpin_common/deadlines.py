"""The deadline ledger: "X must happen within N days of Y", kept as database state.

A deadline is opened in the same transaction as the fact it hangs on, met by the fact that
answers it, and scanned: the scanner claims rows with `UPDATE … RETURNING` (row locks on
PostgreSQL, a single writer on SQLite) and writes the due-soon or overdue event to the outbox
in the same transaction, so each is emitted exactly once however many replicas scan.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import outbox
from fangpin_common.clock import Clock
from fangpin_common.db import is_postgres
from fangpin_common.events import CloudEvent, DeadlineData
from fangpin_common.ids import new_id
from fangpin_common.metrics import Metrics
from fangpin_common.periodic import every
from fangpin_common.tables import DEADLINES

log = logging.getLogger(__name__)

READ_BATCHES = 100  # batches of claimable ids read at once by a scan


@dataclass(frozen=True)
class DeadlineRule:
    """A county-configured deadline: due `months` and `days` after its start (the 6-month risk
    assessment counts calendar months), announced `warn_days` before."""

    kind: str
    days: int
    warn_days: int = 1
    months: int = 0

    def due_on(self, started_on: date) -> date:
        return add_months(started_on, self.months) + timedelta(days=self.days)


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter
    (31 August + 6 months → 28 or 29 February)."""
    if not months:
        return day
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_first - timedelta(days=1)).day))


def status_on(due_on: date, today: date, met_on: date | None = None) -> str:
    """The state a deadline is in on `today`: met, overdue, due_soon or open."""
    if met_on is not None:
        return "met" if met_on <= due_on else "met_late"
    if today > due_on:
        return "overdue"
    return "open"


@dataclass(frozen=True)
class DeadlineEvents:
    """The event classes a deadline kind emits."""

    due_soon: type[CloudEvent]
    overdue: type[CloudEvent]


async def open_deadline(
    session: AsyncSession,
    rule: DeadlineRule,
    *,
    subject_type: str,
    subject_id: str,
    started_on: date,
    now,
    household_id: str | None = None,
    township: str | None = None,
    village: str | None = None,
    due_on: date | None = None,
    context: Mapping[str, Any] | None = None,
) -> str:
    deadline_id = new_id()
    due = due_on or rule.due_on(started_on)
    due_soon = max(started_on, due - timedelta(days=rule.warn_days))
    await session.execute(DEADLINES.insert().values(
        id=deadline_id, kind=rule.kind, subject_type=subject_type, subject_id=subject_id,
        household_id=household_id, township=township, village=village, started_on=started_on,
        due_on=due, due_soon_on=due_soon, state="open", context=dict(context or {}),
        created_at=now,
    ))
    return deadline_id


async def open_deadlines(session: AsyncSession, rule: DeadlineRule, items: list[Mapping[str, Any]],
                         *, subject_type: str, started_on: date, now) -> int:
    """Open many deadlines of one rule in one statement (a monthly round, an imported file).

    Each item has `subject_id` and optionally household_id, township, village, context.
    """
    if not items:
        return 0
    due = rule.due_on(started_on)
    due_soon = max(started_on, due - timedelta(days=rule.warn_days))
    await session.execute(DEADLINES.insert(), [{
        "id": new_id(), "kind": rule.kind, "subject_type": subject_type,
        "subject_id": item["subject_id"], "household_id": item.get("household_id"),
        "township": item.get("township"), "village": item.get("village"),
        "started_on": started_on, "due_on": due, "due_soon_on": due_soon, "state": "open",
        "context": dict(item.get("context") or {}), "created_at": now,
    } for item in items])
    return len(items)


async def meet_deadline(session: AsyncSession, kind: str, subject_id: str, on: date) -> bool:
    """Mark the deadline met (also when it is already overdue: met late). True if one was open."""
    result = await session.execute(
        update(DEADLINES)
        .where(DEADLINES.c.kind == kind, DEADLINES.c.subject_id == subject_id,
               DEADLINES.c.state.in_(("open", "overdue")))
        .values(state="met", met_on=on)
        .returning(DEADLINES.c.id)
    )
    return result.first() is not None


async def find_deadline(session: AsyncSession, kind: str, subject_id: str):
    result = await session.execute(
        select(DEADLINES).where(DEADLINES.c.kind == kind, DEADLINES.c.subject_id == subject_id))
    return result.first()


class DeadlineScanner:
    def __init__(self, service: str, database, clock: Clock, metrics: Metrics,
                 events: Mapping[str, DeadlineEvents], interval_seconds: float = 60.0,
                 batch_size: int = 500) -> None:
        self.service = service
        self.database = database
        self.clock = clock
        self.metrics = metrics
        self.events = dict(events)
        self.interval = interval_seconds
        self.batch_size = batch_size

    async def run(self) -> None:
        await every(self.interval, self.scan, "deadline scan")

    async def scan(self) -> int:
        """Emit every due-soon and overdue event that is due today; returns how many.

        The claimable rows are read once (up to `batch_size × READ_BATCHES` at a time) and then
        claimed by id, a batch per transaction. Claiming the next batch with `… ORDER BY due_on
        LIMIT n` instead would walk again, in the index, past every row already claimed in this
        pass that is still open (a due-soon row stays open): quadratic in the rows due.
        """
        total = 0
        for state in ("due_soon", "overdue"):
            while True:
                wanted = self.batch_size * READ_BATCHES
                ids = await self._claimable_ids(state, wanted)
                claimed = 0
                for start in range(0, len(ids), self.batch_size):
                    claimed += await self._claim_batch(state, ids[start:start + self.batch_size])
                total += claimed
                # Another replica may hold some of them: they are its to emit.
                if len(ids) < wanted or claimed == 0:
                    break
        return total

    def _condition(self, state: str):
        today = self.clock.today()
        d = DEADLINES.c
        kinds = list(self.events)
        if state == "due_soon":
            return and_(d.state == "open", d.due_soon_emitted_at.is_(None),
                        d.due_soon_on <= today, d.due_on >= today, d.kind.in_(kinds))
        return and_(d.state == "open", d.due_on < today, d.kind.in_(kinds))

    async def _claimable_ids(self, state: str, limit: int) -> list[str]:
        d = DEADLINES.c
        async with self.database.session() as session:
            return list((await session.execute(
                select(d.id).where(self._condition(state)).order_by(d.due_on).limit(limit)
            )).scalars())

    async def _claim_batch(self, state: str, ids: list[str]) -> int:
        today = self.clock.today()
        now = self.clock.now()
        d = DEADLINES.c
        # Checked again as the rows are claimed: another replica may have claimed some since.
        condition = self._condition(state)
        values = {"due_soon_emitted_at": now} if state == "due_soon" else \
            {"state": "overdue", "overdue_emitted_at": now}
        claimable = select(d.id).where(d.id.in_(ids), condition)
        if is_postgres(self.database.engine):
            claimable = claimable.with_for_update(skip_locked=True)
        async with self.database.unit_of_work() as session:
            rows = (await session.execute(
                update(DEADLINES)
                .where(d.id.in_(claimable.scalar_subquery()), condition)
                .values(**values)
                .returning(*DEADLINES.c)
            )).all()
            emitted = []
            for row in rows:
                event_cls = getattr(self.events[row.kind], state)
                data = DeadlineData(
                    deadline_id=row.id, kind=row.kind, subject_type=row.subject_type,
                    subject_id=row.subject_id, household_id=row.household_id,
                    township=row.township, village=row.village, started_on=row.started_on,
                    due_on=row.due_on, days_overdue=max(0, (today - row.due_on).days),
                    context=row.context or {},
                )
                emitted.append(event_cls(data=data, subject=row.subject_id, time=now))
            # One statement for the batch, not a round trip per event.
            await outbox.emit_many(session, emitted)
            for row in rows:
                self.metrics.deadlines_emitted.labels(self.service, row.kind, state).inc()
        return len(rows)
