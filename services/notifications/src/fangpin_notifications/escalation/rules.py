"""Pure escalation rules: when a reminder climbs, and when the one above climbs again."""

from __future__ import annotations

from datetime import datetime, timedelta

from fangpin_notifications.routing.rules import Escalation


def next_escalate_at(policy: Escalation | None, level: int, now: datetime) -> datetime | None:
    """A reminder at `level` (0 = first) climbs after the policy's hours, up to max_levels."""
    if policy is None or level >= policy.max_levels:
        return None
    return now + timedelta(hours=policy.after_hours)


def hours_between(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() // 3600)
