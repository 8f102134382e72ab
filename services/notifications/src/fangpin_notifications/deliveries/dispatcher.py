"""The dispatcher: one loop per push channel claims due deliveries and sends them.

Per channel: a token bucket (rate limit), a concurrency limit, quiet hours (nothing is claimed
while they last), timeouts, retries with exponential back-off and jitter, dead letters.
A send is recorded as in flight (committed) just before it starts and settled right after;
on shutdown the attempts in flight finish and are settled before the loop ends, so a restart
neither loses nor repeats one. A replica that dies mid-send leaves the in-flight record: once it
is older than the channel's timeout (plus a grace), the delivery is sent again with the same
delivery id where the receiver can drop the copy — e-mail (Message-ID), webhooks
(X-Fangpin-Delivery, Idempotency-Key), SMS gateways ({delivery_id}) — and is marked `unknown`
for an operator on the group robots, which have no such key (see `service.recover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta

from fangpin_notifications.channels.base import ChannelError, Message
from fangpin_notifications.deliveries import rules, service
from fangpin_notifications.settings import PUSH_CHANNELS

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(self, notifier) -> None:
        self.n = notifier
        self._checked: dict[str, float] = {}  # channel → monotonic time of the last recovery

    async def run(self) -> None:
        loops = [asyncio.create_task(self.channel_loop(c), name=f"dispatch-{c}")
                 for c in PUSH_CHANNELS if self.n.usable(c)]
        loops.append(asyncio.create_task(self.gauges(), name="dispatch-gauges"))
        try:
            await asyncio.wait(loops, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            # Cancelled once each: a loop then lets its sends in flight finish (dispatch_once).
            for task in loops:
                task.cancel()
            await asyncio.gather(*loops, return_exceptions=True)

    async def channel_loop(self, channel: str) -> None:
        idle = self.n.settings.dispatcher_idle_seconds
        while True:
            try:
                sent, wait = await self.dispatch_once(channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatch cycle failed", extra={"fields": {"channel": channel}})
                sent, wait = 0, 1.0
            if sent == 0:
                self.n.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.n.wake.wait(), min(wait or idle, idle))

    async def dispatch_once(self, channel: str) -> tuple[int, float]:
        """Claim and send what is due now; (how many were attempted, seconds to wait)."""
        n = self.n
        policy = n.settings.policy(channel)
        now = n.clock.now()
        await self.recover(channel, now)
        if rules.quiet_until(now, policy.quiet_hours) is not None:
            return 0, n.settings.dispatcher_idle_seconds
        bucket = n.buckets[channel]
        room = min(bucket.available(), n.settings.dispatcher_batch_size)
        if room < 1:
            return 0, bucket.wait_seconds()
        rows = await service.claim(n.db, channel, room, now, n.settings.delivery_lease_seconds,
                                   n.postgres)
        if not rows:
            return 0, 0.0
        work = asyncio.ensure_future(self._send_all(channel, rows))
        try:
            await asyncio.shield(work)
        except asyncio.CancelledError:
            # Shutting down: let the attempts in flight finish and be recorded (asyncio.wait
            # neither cancels them on timeout nor when this task is cancelled again).
            await asyncio.wait({work}, timeout=policy.timeout_seconds + 5)
            raise
        return len(rows), 0.0

    async def recover(self, channel: str, now, force: bool = False) -> list[str]:
        """Settle the sends a dead process left in flight (at most every few seconds)."""
        s = self.n.settings
        last = self._checked.get(channel)
        if not force and last is not None and \
                time.monotonic() - last < s.delivery_in_flight_check_seconds:
            return []
        self._checked[channel] = time.monotonic()
        stale = now - timedelta(seconds=s.policy(channel).timeout_seconds
                                + s.delivery_in_flight_grace_seconds)
        ids = await service.recover(self.n.db, channel,
                                    idempotent=self.n.channels[channel].idempotent, now=now,
                                    stale_before=stale)
        if ids:
            log.error("sends interrupted by a crash: " + (
                "sending again with the same delivery id" if self.n.channels[channel].idempotent
                else "marked unknown, for an operator to check and resend"),
                extra={"fields": {"channel": channel, "deliveries": ids}})
        return ids

    async def _send_all(self, channel: str, rows: list) -> None:
        n = self.n
        policy = n.settings.policy(channel)
        directory = await n.directory.get()
        answered = await service.acknowledged(n.db, [r.reminder_id for r in rows if r.reminder_id])
        limit = asyncio.Semaphore(policy.concurrency)

        async def one(row) -> None:
            async with limit:
                await self._send_one(channel, row, directory, row.reminder_id in answered)

        await asyncio.gather(*(one(r) for r in rows))

    async def _send_one(self, channel: str, row, directory, answered: bool) -> None:
        n = self.n
        policy = n.settings.policy(channel)
        started = n.clock.now()
        t0 = time.perf_counter()
        addresses = list(directory.addresses(row.recipient_unit, channel))
        status = error = None
        permanent = False
        if answered:
            await service.settle(n.db, row, outcome="cancelled", now=started, started=started,
                                 duration_ms=0, addresses=[], status=None,
                                 error="提醒已被确认，无需再发送")
            return
        n.buckets[channel].take()
        try:
            if not addresses:
                raise ChannelError(f"单位 {row.recipient_unit} 在通讯录中没有 {channel} 联系方式",
                                   permanent=True)
            entry = directory.entries.get(row.recipient_unit)
            # In flight, committed before the send: a crash from here on is detected.
            await service.begin(n.db, row, started=started, addresses=addresses)
            message = Message(
                delivery_id=row.id, channel=channel, unit=row.recipient_unit,
                unit_name=directory.name_of(row.recipient_unit), title=row.title, body=row.body,
                event_id=row.event_id, event_type=row.event_type, rule=row.rule,
                payload=row.payload or {})
            status = await asyncio.wait_for(
                n.channels[channel].send(message, addresses, entry.secrets if entry else {},
                                         policy.timeout_seconds),
                policy.timeout_seconds + 1)
            outcome = "sent"
        except ChannelError as exc:
            outcome, error, status, permanent = "failed", str(exc), exc.status, exc.permanent
        except TimeoutError:
            outcome, error, status = "failed", f"timed out after {policy.timeout_seconds}s", \
                "timeout"
        except Exception as exc:  # an adapter bug must not stop the channel
            outcome, error = "failed", f"{type(exc).__name__}: {exc}"
        duration = int((time.perf_counter() - t0) * 1000)
        now = n.clock.now()
        rule = row.rule or "-"
        m = n.metrics
        if outcome == "sent":
            await service.settle(n.db, row, outcome="sent", now=now, started=started,
                                 duration_ms=duration, addresses=addresses, status=status,
                                 error=None)
            m.sent.labels(channel, rule).inc()
            m.latency.labels(channel).observe(max((now - row.event_time).total_seconds(), 0.0))
            return
        m.failed.labels(channel, rule).inc()
        attempts = row.attempts + 1
        decision = rules.after_failure(attempts, permanent, policy)
        if decision == "retry":
            retry_at = now + timedelta(seconds=rules.retry_delay(attempts, policy))
            retry_at = rules.quiet_until(retry_at, policy.quiet_hours) or retry_at
            await service.settle(n.db, row, outcome="retry", now=now, started=started,
                                 duration_ms=duration, addresses=addresses, status=status,
                                 error=error, retry_at=retry_at)
            m.retried.labels(channel, rule).inc()
            log.warning("delivery failed, will retry", extra={"fields": {
                "delivery": row.id, "channel": channel, "attempt": attempts, "error": error}})
        else:
            await service.settle(n.db, row, outcome="dead", now=now, started=started,
                                 duration_ms=duration, addresses=addresses, status=status,
                                 error=error)
            m.dead_lettered.labels(channel, rule).inc()
            log.error("delivery is a dead letter", extra={"fields": {
                "delivery": row.id, "channel": channel, "attempt": attempts, "error": error}})

    async def gauges(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.update_gauges()
            await asyncio.sleep(15)

    async def update_gauges(self) -> None:
        counts = await service.counts(self.n.db)
        for channel in PUSH_CHANNELS:
            self.n.metrics.pending.labels(channel).set(counts.get((channel, "pending"), 0))
            self.n.metrics.dead_letters.labels(channel).set(counts.get((channel, "dead"), 0))
            self.n.metrics.unknown.labels(channel).set(counts.get((channel, "unknown"), 0))
