"""Events published by the notifications service (stream FANGPIN_NOTIFICATIONS)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fangpin_common.events.envelope import CloudEvent, EventData, register


class ReminderEscalatedData(EventData):
    """A reminder nobody acknowledged in time went to the unit above (N2)."""

    reminder_id: str  # the unanswered reminder
    escalated_reminder_id: str  # the new reminder of the unit above
    origin_event_id: str  # the domain event both reminders are about
    origin_event_type: str
    rule: str
    from_unit: str
    to_unit: str
    level: int  # 1 for the first step up, 2 for the next …
    township: str | None = None
    village: str | None = None
    household_id: str | None = None
    reminded_at: datetime  # when the unanswered reminder was created
    hours_unacknowledged: int


@register
class ReminderEscalated(CloudEvent):
    type: Literal["fangpin.notifications.reminder.escalated"] = (
        "fangpin.notifications.reminder.escalated"
    )
    data: ReminderEscalatedData
