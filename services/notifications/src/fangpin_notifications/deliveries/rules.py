"""Pure delivery rules: back-off with jitter, quiet hours, what happens after an attempt."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from fangpin_common.clock import BUSINESS_TZ
from fangpin_notifications.settings import ChannelPolicy


def retry_delay(attempt: int, policy: ChannelPolicy, rand: float | None = None) -> float:
    """Seconds before attempt `attempt + 1`: base × 2^(attempt-1), capped, × jitter 0.5…1."""
    raw = min(policy.backoff_max_seconds, policy.backoff_base_seconds * 2 ** max(attempt - 1, 0))
    return raw * (0.5 + 0.5 * (random.random() if rand is None else rand))


def quiet_until(now: datetime, quiet: tuple[time, time] | None) -> datetime | None:
    """The end of the quiet hours `now` falls in (Asia/Shanghai), or None if it is not quiet.

    The window may span midnight (22:00–08:00)."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(BUSINESS_TZ)
    t = local.time().replace(tzinfo=None)
    if start == end:
        return None
    spans_midnight = start > end
    inside = (t >= start or t < end) if spans_midnight else (start <= t < end)
    if not inside:
        return None
    day = local.date()
    if spans_midnight and t >= start:
        day += timedelta(days=1)
    return datetime.combine(day, end, tzinfo=BUSINESS_TZ).astimezone(UTC)


def after_failure(attempts: int, permanent: bool, policy: ChannelPolicy) -> str:
    """'dead' when the error cannot heal or the attempts are used up, else 'retry'."""
    if permanent or attempts >= policy.max_attempts:
        return "dead"
    return "retry"
