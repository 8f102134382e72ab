"""Durable JetStream pull consumers with idempotent, transactional handling.

A handler runs in one transaction together with the insert of the event id into
`processed_events`, so a redelivered event changes nothing. A failing handler is retried with
back-off; after `max_deliver` deliveries the message is stored as a dead letter, and only then
acknowledged. A message that is not a known event (poison: not JSON, unknown type, invalid
data, over the size limit, …) is stored at once — no redelivery can fix it.

Dead letters are keyed by the message itself (stream and stream sequence), never by a field
parsed from it, so each poison message is a row of its own with its raw bytes, headers and
the reason. Operators list, replay, discard or resolve them (`/admin/dead-letters`); the
`fangpin_dead_letters_open` gauge is read from the table, so metric and rows agree.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import nats.errors
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.bus import Bus
from fangpin_common.clock import Clock
from fangpin_common.db import insert_for, insert_new
from fangpin_common.events import CloudEvent, parse_event, registered
from fangpin_common.logging import event_id_var
from fangpin_common.metrics import Metrics
from fangpin_common.settings import ServiceSettings
from fangpin_common.tables import DEAD_LETTERS, PROCESSED_EVENTS

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]
BatchHandler = Callable[..., Awaitable[None]]
BatchPrepare = Callable[[Sequence[CloudEvent]], Awaitable[Any]]


@dataclass(frozen=True)
class Subscription:
    """What a service consumes: a durable name, the publisher's stream, subjects, a handler."""

    durable: str
    stream: str
    subjects: Sequence[str]
    handler: Handler
    # Types in `subjects` that this consumer acknowledges without handling.
    ignore: frozenset[str] = field(default_factory=frozenset)
    # Optional fast path: a fetched batch applied in ONE transaction (processed ids included).
    # It must have the same effect as `handler` applied to each event; if the batch fails,
    # every message falls back to `handler` in its own transaction (retries, dead letters).
    batch_handler: BatchHandler | None = None
    # Optional: the batch's work that needs no transaction (rows built from the events), done
    # while the previous batch is being written. With it the handler is called as
    # batch_handler(session, fresh_events, prepared) — `prepared` covers every event of the
    # batch, the handler keeps what concerns the fresh ones. If it fails, one by one as above.
    batch_prepare: BatchPrepare | None = None


@dataclass
class _Batch:
    """A fetched batch, sorted: first deliveries applied together, the rest one by one."""

    batch: list[tuple[Any, CloudEvent]] = field(default_factory=list)
    single: list = field(default_factory=list)
    ignored: list[tuple[Any, CloudEvent]] = field(default_factory=list)
    prepared: Any = None


class PoisonMessage(Exception):
    """A message that no redelivery can fix (not a known event); the reason is in Chinese."""


# Pydantic's error types, as an operator reads them.
_ERROR_TEXT = {
    "missing": "缺少该字段",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "float_type": "应为数字",
    "bool_type": "应为布尔值",
    "bool_parsing": "应为布尔值",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "date_type": "应为日期",
    "date_parsing": "日期格式不对",
    "date_from_datetime_parsing": "日期格式不对",
    "datetime_type": "应为时间",
    "datetime_parsing": "时间格式不对",
    "datetime_from_date_parsing": "时间格式不对",
    "literal_error": "取值不在允许范围内",
    "enum": "取值不在允许范围内",
    "string_too_long": "字符串过长",
    "string_too_short": "字符串过短",
    "too_long": "元素过多",
    "too_short": "元素过少",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "value_error": "取值无效",
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "（整体）"
        parts.append(f"{where}：{_ERROR_TEXT.get(error['type'], '取值无效')}（{error['type']}）")
    more = exc.error_count() - len(parts)
    return "；".join(parts) + (f"；另有 {more} 处" if more > 0 else "")


def _why_not_an_event(raw: bytes, exc: ValidationError) -> str:
    """Why `raw` is not a known event, for the operator (only called when parsing failed)."""
    if not raw:
        return "消息体为空"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"消息体不是 UTF-8 文本（第 {err.start} 字节起无法解码）"
    try:
        doc = json.loads(text)
    except ValueError as err:
        return f"消息体不是 JSON（{getattr(err, 'msg', err)}，第 {getattr(err, 'pos', 0)} 个字符）"
    if not isinstance(doc, dict):
        kind = {list: "数组", str: "字符串", int: "数字", float: "数字", bool: "布尔值"}.get(
            type(doc), "空值")
        return f"JSON 不是对象，而是{kind}"
    event_type = doc.get("type")
    if not isinstance(event_type, str) or not event_type:
        return "缺少事件类型（type）"
    if event_type not in registered():
        return f"未知的事件类型 {event_type[:200]!r}"
    return f"事件 {event_type} 不符合其结构：{_describe(exc)}"


def decode(raw: bytes, max_bytes: int) -> CloudEvent:
    """The event in a message, or PoisonMessage with the reason."""
    if len(raw) > max_bytes:
        raise PoisonMessage(f"消息体 {len(raw)} 字节，超过事件上限 {max_bytes} 字节")
    try:
        event = parse_event(raw)
    except ValidationError as exc:
        raise PoisonMessage(_why_not_an_event(raw, exc)) from None
    except Exception as exc:  # the parser's own failure is the message's fault as well
        raise PoisonMessage(f"无法解析消息：{exc!r}"[:2000]) from None
    if event.specversion != "1.0":
        raise PoisonMessage(f"specversion 应为 1.0，实为 {event.specversion[:50]!r}")
    # The processed-id and dead-letter columns hold 36 characters (a UUID).
    if not event.id or len(event.id) > 36:
        raise PoisonMessage(f"事件 id 应为 1 到 36 个字符，实为 {len(event.id)} 个")
    return event


@dataclass(frozen=True)
class MessageKey:
    """Where a message sits in JetStream: what identifies a dead letter."""

    key: str
    stream: str | None
    stream_seq: int | None
    msg_id: str | None

    @classmethod
    def of(cls, msg) -> MessageKey:
        headers = getattr(msg, "headers", None) or {}
        msg_id = headers.get("Nats-Msg-Id")
        try:
            meta = msg.metadata
        except Exception:  # not a JetStream message (a test's or a tool's)
            meta = None
        if meta is not None and meta.stream and meta.sequence is not None:
            seq = meta.sequence.stream
            return cls(f"{meta.stream}:{seq}", meta.stream, seq, msg_id)
        if msg_id:
            return cls(f"msg-id:{msg_id}"[:200], None, None, msg_id)
        digest = hashlib.sha256((msg.subject or "").encode() + b"\0" + msg.data).hexdigest()
        return cls(f"sha256:{digest}", None, None, None)


async def count_open_dead_letters(database) -> dict[str, int]:
    """Open dead letters per consumer, read from the table (what the gauge shows)."""
    async with database.session() as session:
        rows = await session.execute(
            select(DEAD_LETTERS.c.consumer, func.count())
            .where(DEAD_LETTERS.c.state == "open").group_by(DEAD_LETTERS.c.consumer))
        return {consumer: count for consumer, count in rows}


async def refresh_dead_letter_gauge(database, metrics: Metrics, service: str,
                                    consumers: Sequence[str]) -> None:
    counts = await count_open_dead_letters(database)
    # A consumer with none open shows 0, not the last value it had.
    for consumer in {*consumers, *counts}:
        metrics.dead_letters_open.labels(service, consumer).set(counts.get(consumer, 0))


class Consumer:
    def __init__(self, sub: Subscription, settings: ServiceSettings, database, bus: Bus,
                 metrics: Metrics, clock: Clock) -> None:
        self.sub = sub
        self.settings = settings
        self.database = database
        self.bus = bus
        self.metrics = metrics
        self.clock = clock
        self.service = settings.service_name

    # -- the loop ---------------------------------------------------------------------------
    async def run(self) -> None:
        delay = 0.5
        while True:
            await self.bus.ready.wait()
            try:
                psub = await self._subscribe()
                delay = 0.5
                try:
                    await self._pull(psub)
                finally:
                    # A stopped consumer drops its subscription: a fetch reply arriving after
                    # the stop would otherwise hold the connection's drain for its full timeout.
                    with contextlib.suppress(Exception):
                        await psub.unsubscribe()
            except asyncio.CancelledError:
                raise
            except NotFoundError:
                log.info("stream not there yet", extra={"fields": {"stream": self.sub.stream}})
            except Exception as exc:
                log.warning("consumer loop restarting", extra={"fields": {
                    "consumer": self.sub.durable, "error": repr(exc)}})
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def _subscribe(self):
        js = self.bus.js
        assert js is not None
        s = self.settings
        backoff = list(s.consumer_backoff_seconds)[: max(s.consumer_max_deliver - 1, 1)]
        config = ConsumerConfig(
            durable_name=self.sub.durable,
            ack_policy=AckPolicy.EXPLICIT,
            deliver_policy=DeliverPolicy.ALL,
            ack_wait=s.consumer_ack_wait_seconds,
            # No server-side limit: the consumer itself gives up after consumer_max_deliver
            # and keeps a dead letter; while that row cannot be written (database down) the
            # message keeps coming back instead of being dropped by the server.
            max_deliver=-1,
            backoff=backoff,
            filter_subjects=list(self.sub.subjects),
            max_ack_pending=10_000,
        )
        await js.add_consumer(self.sub.stream, config)
        return await js.pull_subscribe_bind(durable=self.sub.durable, stream=self.sub.stream)

    async def _pull(self, psub) -> None:
        batch = self.settings.consumer_batch_size
        # The batch being applied: the next one is fetched meanwhile (the fetch's work overlaps
        # the database's), then waits for it, so batches are still applied one after the other.
        working: asyncio.Task | None = None
        try:
            while True:
                try:
                    messages = await psub.fetch(batch, timeout=1.0)
                except (nats.errors.TimeoutError, TimeoutError):
                    if working is not None:
                        await working
                        working = None
                    if not self.bus.connected:
                        raise ConnectionError("NATS connection lost") from None
                    continue  # an empty stream is idle time, not an error
                if self.sub.batch_handler is not None and len(messages) > 1:
                    # Prepared now, while the previous batch is still being written.
                    step = self._finish_batch(await self._start_batch(messages))
                else:
                    step = self._handle_each(messages)
                if working is not None:
                    try:
                        async with self._in_progress(messages):
                            await working
                    except BaseException:
                        step.close()
                        raise
                working = asyncio.create_task(step)
        finally:
            if working is not None:
                working.cancel()  # a stop interrupts it as it would the loop itself
                await asyncio.gather(working, return_exceptions=True)

    async def _handle_each(self, messages: Sequence) -> None:
        for msg in messages:
            await self.handle_message(msg)

    # -- one message --------------------------------------------------------------------------
    def decode(self, raw: bytes) -> CloudEvent:
        return decode(raw, self.settings.event_max_bytes)

    async def handle_message(self, msg) -> str:
        deliveries = _deliveries(msg)
        try:
            event = self.decode(msg.data)
        except PoisonMessage as exc:
            # No redelivery can fix it: kept at once, then acknowledged (never before).
            await self._dead_letter(msg, None, f"不是可识别的事件：{exc}", deliveries)
            await msg.ack()
            log.error("message dead-lettered: not a known event",
                      extra={"fields": {"subject": msg.subject, "reason": str(exc)}})
            return "poison"
        token = event_id_var.set(event.id)
        try:
            if event.type in self.sub.ignore:
                outcome = "ignored"
            else:
                outcome = await self._apply_with_heartbeat(event, msg)
            await msg.ack()
            self.metrics.events_consumed.labels(self.service, self.sub.durable, event.type,
                                                outcome).inc()
            return outcome
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.metrics.events_failed.labels(self.service, self.sub.durable, event.type).inc()
            backoff = self.settings.consumer_backoff_seconds
            if deliveries >= self.settings.consumer_max_deliver:
                try:
                    await self._dead_letter(msg, event, f"处理失败 {deliveries} 次：{exc!r}",
                                            deliveries)
                except Exception as kept:
                    log.error("dead letter not written, the message will come again",
                              extra={"fields": {"error": repr(kept)}})
                    with contextlib.suppress(Exception):
                        await msg.nak(delay=backoff[-1] if backoff else 5.0)
                    return "failed"
                await msg.ack()
                log.error("event dead-lettered", extra={"fields": {"error": repr(exc)}})
                return "dead_lettered"
            delay = backoff[min(deliveries - 1, len(backoff) - 1)] if backoff else 1.0
            log.warning("handler failed, will retry",
                        extra={"fields": {"error": repr(exc), "deliveries": deliveries}})
            with contextlib.suppress(Exception):
                await msg.nak(delay=delay)
            return "failed"
        finally:
            event_id_var.reset(token)

    async def handle_batch(self, messages: Sequence) -> None:
        """Apply first deliveries of known events in one transaction; the rest one by one."""
        await self._finish_batch(await self._start_batch(messages))

    async def _start_batch(self, messages: Sequence) -> _Batch:
        """Sort the batch and prepare it: no transaction yet."""
        out = _Batch()
        batch, single, ignored = out.batch, out.single, out.ignored
        seen: set[str] = set()
        for msg in messages:
            deliveries = _deliveries(msg)
            try:
                event = self.decode(msg.data)
            except PoisonMessage:
                single.append(msg)  # dead-lettered there, with its reason
                continue
            if event.type in self.sub.ignore:
                ignored.append((msg, event))
            elif deliveries > 1 or event.id in seen:
                single.append(msg)
            else:
                seen.add(event.id)
                batch.append((msg, event))
        if batch and self.sub.batch_prepare is not None:
            try:
                out.prepared = await self.sub.batch_prepare([event for _, event in batch])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("batch could not be prepared, applying its events one by one",
                            extra={"fields": {"error": repr(exc), "size": len(batch)}})
                single.extend(msg for msg, _ in batch)
                batch.clear()
        return out

    async def _finish_batch(self, prepared: _Batch) -> None:
        batch, single, ignored = prepared.batch, prepared.single, prepared.ignored
        if batch:
            try:
                async with self._in_progress([msg for msg, _ in batch]):
                    outcomes = await self._apply_batch([event for _, event in batch],
                                                       prepared.prepared)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("batch failed, applying its events one by one",
                            extra={"fields": {"error": repr(exc), "size": len(batch)}})
                single.extend(msg for msg, _ in batch)
            else:
                consumed: Counter[tuple[str, str]] = Counter()
                for (msg, event), outcome in zip(batch, outcomes, strict=True):
                    with contextlib.suppress(Exception):
                        await msg.ack()
                    consumed[event.type, outcome] += 1
                # Counted per type and outcome, not per event (a label lookup each is costly).
                for (event_type, outcome), count in consumed.items():
                    self.metrics.events_consumed.labels(self.service, self.sub.durable,
                                                        event_type, outcome).inc(count)
        for msg, event in ignored:
            await msg.ack()
            self.metrics.events_consumed.labels(self.service, self.sub.durable, event.type,
                                                "ignored").inc()
        for msg in single:
            await self.handle_message(msg)

    async def _apply_batch(self, events: list[CloudEvent], prepared: Any = None) -> list[str]:
        assert self.sub.batch_handler is not None
        now = self.clock.now()
        async with self.database.unit_of_work() as session:
            # One statement claims the batch: the ids it returns are the ones not seen before.
            fresh_ids = set(await insert_new(session, PROCESSED_EVENTS, [
                {"consumer": self.sub.durable, "event_id": event.id, "event_type": event.type,
                 "processed_at": now} for event in events], returning="event_id") or ())
            fresh = [event for event in events if event.id in fresh_ids]
            if fresh and self.sub.batch_prepare is not None:
                await self.sub.batch_handler(session, fresh, prepared)
            elif fresh:
                await self.sub.batch_handler(session, fresh)
        return ["handled" if event.id in fresh_ids else "duplicate" for event in events]

    async def _apply_with_heartbeat(self, event: CloudEvent, msg) -> str:
        async with self._in_progress([msg]):
            return await self.apply(event)

    @contextlib.asynccontextmanager
    async def _in_progress(self, msgs: Sequence) -> AsyncIterator[None]:
        """Tell the server the messages are being worked on while the block runs, so a slow
        transaction does not make it deliver them again (to a second, parallel handling)."""
        s = self.settings
        # With a back-off list the server waits only its first step before redelivering.
        wait = min([s.consumer_ack_wait_seconds, *s.consumer_backoff_seconds[:1]])
        interval = max(wait / 3, 0.05)

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(interval)
                for msg in msgs:
                    with contextlib.suppress(Exception):
                        await msg.in_progress()

        beat = asyncio.create_task(heartbeat())
        try:
            yield
        finally:
            beat.cancel()

    async def apply(self, event: CloudEvent) -> str:
        """Run the handler once per event id; 'handled' or 'duplicate'."""
        try:
            async with self.database.unit_of_work() as session:
                if not await self._mark_processed(session, event):
                    return "duplicate"
                await self.sub.handler(session, event)
        except IntegrityError:
            # Another replica applied the same event concurrently: its commit won.
            async with self.database.session() as session:
                seen = await session.execute(select(PROCESSED_EVENTS.c.event_id).where(
                    PROCESSED_EVENTS.c.consumer == self.sub.durable,
                    PROCESSED_EVENTS.c.event_id == event.id))
                if seen.first() is not None:
                    return "duplicate"
            raise
        return "handled"

    async def _mark_processed(self, session: AsyncSession, event: CloudEvent) -> bool:
        """Insert the event id; False when this consumer has applied it already."""
        result = await session.execute(insert_for(session, PROCESSED_EVENTS).values(
            consumer=self.sub.durable, event_id=event.id, event_type=event.type,
            processed_at=self.clock.now()).on_conflict_do_nothing())
        return result.rowcount == 1

    async def _dead_letter(self, msg, event: CloudEvent | None, error: str,
                           deliveries: int) -> None:
        """Keep the message as it came (bytes, subject, headers); once per message."""
        where = MessageKey.of(msg)
        headers = dict(getattr(msg, "headers", None) or {})
        async with self.database.unit_of_work() as session:
            result = await session.execute(insert_for(session, DEAD_LETTERS).values(
                consumer=self.sub.durable, message_key=where.key, stream=where.stream,
                stream_seq=where.stream_seq,
                msg_id=where.msg_id[:200] if where.msg_id else None,
                subject=(msg.subject or "")[:200],
                event_id=event.id if event else None,
                event_type=event.type[:200] if event else None,
                payload=bytes(msg.data), headers=headers or None, error=error[:4000],
                deliveries=deliveries, state="open", created_at=self.clock.now(),
            ).on_conflict_do_nothing())
        if result.rowcount != 1:  # a redelivery of a kept message is not counted again
            return
        self.metrics.events_dead_lettered.labels(
            self.service, self.sub.durable, event.type if event else msg.subject).inc()
        with contextlib.suppress(Exception):
            await refresh_dead_letter_gauge(self.database, self.metrics, self.service,
                                            [self.sub.durable])

    async def replay(self, dead_letter_id: int, actor: str | None = None) -> str:
        """Apply a dead letter again (after the cause was fixed); 'handled' or 'duplicate'.

        Raises PoisonMessage if it is still not a known event (the row stays open), and the
        handler's error if it fails again (the row stays open, with that error).
        """
        async with self.database.session() as session:
            row = (await session.execute(
                select(DEAD_LETTERS).where(DEAD_LETTERS.c.id == dead_letter_id))).one()
        event = self.decode(row.payload)
        try:
            outcome = await self.apply(event)
        except Exception as exc:
            async with self.database.unit_of_work() as session:
                await session.execute(update(DEAD_LETTERS)
                                      .where(DEAD_LETTERS.c.id == dead_letter_id)
                                      .values(error=f"重放失败：{exc!r}"[:4000]))
            raise
        async with self.database.unit_of_work() as session:
            await session.execute(update(DEAD_LETTERS).where(DEAD_LETTERS.c.id == dead_letter_id)
                                  .values(state="replayed", resolved_at=self.clock.now(),
                                          resolved_by=actor))
        with contextlib.suppress(Exception):
            await refresh_dead_letter_gauge(self.database, self.metrics, self.service,
                                            [self.sub.durable])
        return outcome


def _deliveries(msg) -> int:
    try:
        meta = msg.metadata
    except Exception:
        return 1
    return meta.num_delivered if meta and meta.num_delivered else 1
