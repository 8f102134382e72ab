"""Transactional outbox: events are rows written with the state change, published later.

`emit` adds the row in the caller's transaction, so a rolled-back change sends nothing. The
relay claims rows (SKIP LOCKED plus a lease on PostgreSQL; SQLite has a single writer),
publishes them with `Nats-Msg-Id` = event id, waits for JetStream's acks and deletes what
was acknowledged. Sends go out in claim order; a retried event may arrive after later ones,
so consumers rely on event ids and their own state, not on arrival order across failures.
Whatever fails is retried with back-off; a duplicate publish after a crash is dropped by
JetStream's duplicate window and by the consumers' processed-id table.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.bus import Bus
from fangpin_common.db import bulk_insert, is_postgres
from fangpin_common.events import CloudEvent
from fangpin_common.metrics import Metrics
from fangpin_common.tables import OUTBOX

log = logging.getLogger(__name__)

# The session marks itself so that its commit wakes the relay (see database.Database).
PENDING_FLAG = "fangpin_outbox_pending"


def _wall_clock() -> datetime:
    # Leases and retries run on real time, never on the business clock (which tests set).
    return datetime.now(UTC)


async def emit(session: AsyncSession, event: CloudEvent) -> None:
    """Queue an event in the caller's transaction."""
    at = _wall_clock()
    await session.execute(
        OUTBOX.insert().values(
            id=event.id,
            event_type=event.type,
            payload=event.to_json(),
            created_at=at,
            available_at=at,
            attempts=0,
        )
    )
    session.info[PENDING_FLAG] = True


async def emit_many(session: AsyncSession, events: list[CloudEvent]) -> None:
    """Queue many events in one round trip (bulk imports); the same rows `emit` writes."""
    if not events:
        return
    at = _wall_clock()
    await bulk_insert(session, OUTBOX, [
        {"id": e.id, "event_type": e.type, "payload": e.to_json(), "created_at": at,
         "available_at": at, "attempts": 0} for e in events])
    session.info[PENDING_FLAG] = True


def retry_delay(attempts: int) -> float:
    """Exponential back-off with jitter, capped at 30 s."""
    return min(30.0, 0.5 * 2 ** min(attempts, 6)) * random.uniform(0.5, 1.0)


class Relay:
    def __init__(self, service: str, database, bus: Bus, metrics: Metrics,
                 batch_size: int = 256, idle_seconds: float = 0.2, lease_seconds: float = 30.0,
                 publish_timeout: float = 10.0, depth: int = 4) -> None:
        self.service = service
        self.database = database
        self.bus = bus
        self.metrics = metrics
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self.lease = timedelta(seconds=lease_seconds)
        self.publish_timeout = publish_timeout
        # Batches awaiting acks at once; sends stay in claim order (see run).
        self.depth = depth
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Claim, send in order, and let up to `depth` batches await their acks meanwhile."""
        next_gauge = 0.0
        loop = asyncio.get_running_loop()
        in_flight: set[asyncio.Task] = set()
        while True:
            await self.bus.ready.wait()
            claimed = 0
            try:
                rows = await self._claim()
                claimed = len(rows)
                if rows:
                    acks, failed = await self._send(rows)
                    task = asyncio.create_task(self._settle_batch(rows, acks, failed))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    if len(in_flight) >= self.depth:
                        await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                for task in in_flight:
                    task.cancel()
                raise
            except Exception:
                log.exception("outbox relay cycle failed")
                await asyncio.sleep(1.0)
            if loop.time() >= next_gauge:
                await self._update_gauges()
                next_gauge = loop.time() + 5.0
            if claimed < self.batch_size:
                if in_flight:
                    await asyncio.wait(in_flight)
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                except TimeoutError:
                    pass

    async def relay_once(self) -> int:
        """One batch, start to end. Returns how many were acknowledged."""
        rows = await self._claim()
        if not rows:
            return 0
        return await self._settle_batch(rows, *await self._send(rows))

    async def _settle_batch(self, rows: list, acks: dict[asyncio.Future, str],
                            failed: dict[str, str]) -> int:
        acked = await self._await_acks(acks, failed)
        await self._settle(acked, failed, {row.id: row.attempts for row in rows})
        for row in rows:
            if row.id in acked:
                self.metrics.events_published.labels(self.service, row.event_type).inc()
        if failed:
            self.metrics.publish_failures.labels(self.service).inc(len(failed))
        return len(acked)

    async def _claim(self) -> list:
        now = _wall_clock()
        async with self.database.unit_of_work() as session:
            claimable = (
                select(OUTBOX.c.id)
                .where(OUTBOX.c.available_at <= now)
                .where((OUTBOX.c.claimed_until.is_(None)) | (OUTBOX.c.claimed_until < now))
                .order_by(OUTBOX.c.created_at)
                .limit(self.batch_size)
            )
            if is_postgres(self.database.engine):
                claimable = claimable.with_for_update(skip_locked=True)
            result = await session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(claimable.scalar_subquery()))
                .values(claimed_until=now + self.lease)
                .returning(OUTBOX.c.id, OUTBOX.c.event_type, OUTBOX.c.payload,
                           OUTBOX.c.created_at, OUTBOX.c.attempts)
            )
            return sorted(result.all(), key=lambda r: r.created_at)

    async def _send(self, rows: list) -> tuple[dict[asyncio.Future, str], dict[str, str]]:
        """Send every row in order; returns the ack futures and the rows that could not go."""
        js = self.bus.js
        failed: dict[str, str] = {}
        futures: dict[asyncio.Future, str] = {}
        try:
            if js is None or not self.bus.connected:
                raise ConnectionError("not connected to NATS")
            for row in rows:
                future = await js.publish_async(
                    row.event_type, row.payload, headers={"Nats-Msg-Id": row.id}
                )
                futures[future] = row.id
        except Exception as exc:
            sent = set(futures.values())
            failed.update({r.id: repr(exc) for r in rows if r.id not in sent})
        return futures, failed

    async def _await_acks(self, futures: dict[asyncio.Future, str],
                          failed: dict[str, str]) -> set[str]:
        acked: set[str] = set()
        if futures:
            done, pending = await asyncio.wait(futures, timeout=self.publish_timeout)
            for future in pending:
                future.cancel()
                failed[futures[future]] = "no acknowledgement within the timeout"
            for future in done:
                if future.cancelled() or future.exception() is not None:
                    failed[futures[future]] = repr(future.exception())
                else:
                    acked.add(futures[future])
        return acked

    async def _settle(self, acked: set[str], failed: dict[str, str],
                      attempts: dict[str, int]) -> None:
        now = _wall_clock()
        async with self.database.unit_of_work() as session:
            if acked:
                await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(acked)))
            for event_id, error in failed.items():
                await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == event_id)
                    .values(
                        attempts=OUTBOX.c.attempts + 1,
                        available_at=now + timedelta(seconds=retry_delay(attempts[event_id])),
                        claimed_until=None,
                        last_error=error[:2000],
                    )
                )

    async def _update_gauges(self) -> None:
        try:
            async with self.database.session() as session:
                count, oldest = (
                    await session.execute(select(func.count(), func.min(OUTBOX.c.created_at)))
                ).one()
        except Exception:
            return
        self.metrics.outbox_pending.labels(self.service).set(count)
        age = 0.0 if oldest is None else (_wall_clock() - oldest).total_seconds()
        self.metrics.outbox_oldest_age.labels(self.service).set(max(0.0, age))
