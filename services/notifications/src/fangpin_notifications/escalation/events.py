"""What escalation emits."""

from __future__ import annotations

from datetime import datetime

from fangpin_common.events.notifications import ReminderEscalated, ReminderEscalatedData


def reminder_escalated(row, new_id: str, to_unit: str, level: int, hours: int, now: datetime
                       ) -> ReminderEscalated:
    return ReminderEscalated(subject=row.id, time=now, data=ReminderEscalatedData(
        reminder_id=row.id, escalated_reminder_id=new_id,
        origin_event_id=row.origin_event_id or row.event_id,
        origin_event_type=row.origin_event_type or row.event_type, rule=row.rule or "",
        from_unit=row.recipient_unit, to_unit=to_unit, level=level, township=row.township,
        village=row.village, household_id=row.household_id, reminded_at=row.created_at,
        hours_unacknowledged=hours))
