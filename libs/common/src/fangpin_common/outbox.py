"""Transactional outbox: events are rows written with the state change, published later.

`emit` adds the row in the caller's transaction, so a rolled-back change sends nothing. The
relay claims rows (SKIP LOCKED plus a lease on PostgreSQL; SQLite has a single writer),
publishes them with `Nats-Msg-Id` = event id, waits for JetStream's acks and deletes what
was acknowledged. Sends go out in claim order; a retried event may arrive after later ones,
so consumers rely on event ids and their own state, not on arrival order across failures.
Whatever fails is retried with back-off; a duplicate publish after a crash is dropped by
JetStream's duplicate window and by the consumers' processed-id table.

Events are bounded by design: `emit` refuses an event over `event_max_bytes` (a 422 that
rolls the business change back), so what is accepted can be published. A row that still
cannot be — over the connection's max_payload, or rejected by the server once it has been
tried `outbox_max_rejections` times — moves to `outbox_dead_letters` in one transaction:
it never blocks the rows behind it, and an operator resends or discards it
(`/admin/outbox/dead-letters`).
An outage (no connection, no ack in time) is not a rejection: rows wait it out.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import nats.errors
import nats.js.errors
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.bus import Bus
from fangpin_common.db import bulk_insert, is_postgres
from fangpin_common.errors import DomainError
from fangpin_common.events import CloudEvent
from fangpin_common.metrics import Metrics
from fangpin_common.tables import OUTBOX, OUTBOX_DEAD_LETTERS

log = logging.getLogger(__name__)

# The session marks itself so that its commit wakes the relay (see database.Database).
PENDING_FLAG = "fangpin_outbox_pending"
# The unit of work puts the service's event_max_bytes here (see database.Database).
MAX_BYTES_KEY = "fangpin_event_max_bytes"
DEFAULT_EVENT_MAX_BYTES = 256 * 1024
# Room left for the headers (Nats-Msg-Id) and the protocol line under max_payload.
HEADER_ALLOWANCE = 1024


class EventTooLarge(DomainError):
    """An event over the payload limit: the change that produced it is refused."""

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(
            [], f"本次提交产生的事件 {event_type} 有 {size} 字节，超过上限 {limit} 字节，"
                f"无法通知其他部门；请减少一次提交的数据量（例如分批提交）",
            code="event_too_large")
        self.event_type = event_type
        self.size = size
        self.limit = limit


def _payload(session: AsyncSession, event: CloudEvent) -> bytes:
    payload = event.to_json()
    limit = session.info.get(MAX_BYTES_KEY, DEFAULT_EVENT_MAX_BYTES)
    if len(payload) > limit:
        raise EventTooLarge(event.type, len(payload), limit)
    return payload


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
            payload=_payload(session, event),
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
        {"id": e.id, "event_type": e.type, "payload": _payload(session, e), "created_at": at,
         "available_at": at, "attempts": 0} for e in events])
    session.info[PENDING_FLAG] = True


@dataclass(frozen=True)
class Failure:
    """Why a row was not published. kind: transient (retried for ever), rejected (the server
    said no: retried up to max_rejections), permanent (can never go: dead letter at once)."""

    error: str
    kind: str = "transient"


def retry_delay(attempts: int) -> float:
    """Exponential back-off with jitter, capped at 30 s."""
    return min(30.0, 0.5 * 2 ** min(attempts, 6)) * random.uniform(0.5, 1.0)


class Relay:
    def __init__(self, service: str, database, bus: Bus, metrics: Metrics,
                 batch_size: int = 256, idle_seconds: float = 0.2, lease_seconds: float = 30.0,
                 publish_timeout: float = 10.0, depth: int = 4,
                 max_rejections: int = 10) -> None:
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
        self.max_rejections = max_rejections
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
                            failed: dict[str, Failure]) -> int:
        acked = await self._await_acks(acks, failed)
        dead = await self._settle(acked, failed, {row.id: row for row in rows})
        for row in rows:
            if row.id in acked:
                self.metrics.events_published.labels(self.service, row.event_type).inc()
            elif row.id in dead:
                self.metrics.outbox_dead_lettered.labels(self.service, row.event_type).inc()
                log.error("outbox row moved to the dead letters", extra={"fields": {
                    "event_id": row.id, "type": row.event_type, "error": failed[row.id].error}})
        if failed:
            self.metrics.publish_failures.labels(self.service).inc(len(failed))
        if dead:
            await self._update_gauges()
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

    async def _send(self, rows: list) -> tuple[dict[asyncio.Future, str], dict[str, Failure]]:
        """Send every row in order; returns the ack futures and the rows that could not go."""
        js = self.bus.js
        failed: dict[str, Failure] = {}
        futures: dict[asyncio.Future, str] = {}
        if js is None or not self.bus.connected:
            return futures, {r.id: Failure("not connected to NATS") for r in rows}
        nc = self.bus.nc
        max_payload = nc.max_payload if nc is not None else 1024 * 1024
        for index, row in enumerate(rows):
            # Checked here too: the client would raise before sending, but leak the pending
            # publish it had registered, and the server counts the headers as well.
            if len(row.payload) + HEADER_ALLOWANCE > max_payload:
                failed[row.id] = Failure(f"{len(row.payload)} 字节，超过 NATS 的消息上限 "
                                         f"{max_payload} 字节", "permanent")
                continue
            try:
                if row.attempts + 1 >= self.max_rejections:
                    # A row that failed before goes by request and reply: nats-py's
                    # publish_async drops JetStream's error answers (they look like a lost
                    # ack), publish reports them, so a rejection is told from an outage.
                    future = asyncio.ensure_future(js.publish(
                        row.event_type, row.payload, timeout=self.publish_timeout,
                        headers={"Nats-Msg-Id": row.id}))
                else:
                    future = await js.publish_async(
                        row.event_type, row.payload, headers={"Nats-Msg-Id": row.id}
                    )
            except nats.errors.MaxPayloadError as exc:
                failed[row.id] = Failure(repr(exc), "permanent")
                continue
            except Exception as exc:
                # The connection, not the row: this row and the rest wait for the next round.
                failed.update({r.id: Failure(repr(exc)) for r in rows[index:]})
                break
            futures[future] = row.id
        return futures, failed

    async def _await_acks(self, futures: dict[asyncio.Future, str],
                          failed: dict[str, Failure]) -> set[str]:
        acked: set[str] = set()
        if futures:
            done, pending = await asyncio.wait(futures, timeout=self.publish_timeout)
            for future in pending:
                future.cancel()
                failed[futures[future]] = Failure("no acknowledgement within the timeout")
            for future in done:
                error = None if future.cancelled() else future.exception()
                if future.cancelled():
                    failed[futures[future]] = Failure("publish cancelled")
                elif error is not None:
                    # An error answer from JetStream (no stream takes it, message too large
                    # for the stream, …) is a rejection; anything else an outage.
                    if isinstance(error, nats.js.errors.APIError):
                        failed[futures[future]] = Failure(str(error), "rejected")  # with code
                    else:
                        failed[futures[future]] = Failure(repr(error))
                else:
                    acked.add(futures[future])
        return acked

    async def _settle(self, acked: set[str], failed: dict[str, Failure],
                      rows: dict) -> set[str]:
        """Delete what was acknowledged, schedule retries, move the hopeless rows to the
        dead letters; returns the ids moved."""
        now = _wall_clock()
        dead = {event_id for event_id, f in failed.items()
                if f.kind == "permanent"
                or (f.kind == "rejected" and rows[event_id].attempts + 1 >= self.max_rejections)}
        async with self.database.unit_of_work() as session:
            if acked:
                await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(acked)))
            if dead:
                # Copy and delete in one transaction: the row is in exactly one of the tables.
                await session.execute(insert(OUTBOX_DEAD_LETTERS).values([
                    {"id": event_id, "event_type": rows[event_id].event_type,
                     "payload": rows[event_id].payload, "created_at": rows[event_id].created_at,
                     "attempts": rows[event_id].attempts + 1,
                     "error": failed[event_id].error[:4000], "dead_at": now, "state": "open"}
                    for event_id in sorted(dead)]))
                await session.execute(delete(OUTBOX).where(OUTBOX.c.id.in_(dead)))
            for event_id, failure in failed.items():
                if event_id in dead:
                    continue
                await session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id == event_id)
                    .values(
                        attempts=OUTBOX.c.attempts + 1,
                        available_at=now + timedelta(
                            seconds=retry_delay(rows[event_id].attempts)),
                        claimed_until=None,
                        last_error=failure.error[:2000],
                    )
                )
        return dead

    async def _update_gauges(self) -> None:
        try:
            async with self.database.session() as session:
                count, oldest = (
                    await session.execute(select(func.count(), func.min(OUTBOX.c.created_at)))
                ).one()
                dead = (await session.execute(
                    select(func.count()).select_from(OUTBOX_DEAD_LETTERS)
                    .where(OUTBOX_DEAD_LETTERS.c.state == "open"))).scalar_one()
        except Exception:
            return
        self.metrics.outbox_dead_letters_open.labels(self.service).set(dead)
        self.metrics.outbox_pending.labels(self.service).set(count)
        age = 0.0 if oldest is None else (_wall_clock() - oldest).total_seconds()
        self.metrics.outbox_oldest_age.labels(self.service).set(max(0.0, age))
