"""The events of the work-information deadline kind (one per labourer per quarter)."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.employment import WorkInfoDueSoon, WorkInfoOverdue
from fangpin_employment.workinfo.rules import WORK_INFO_DEADLINE

DEADLINE_EVENTS = {
    WORK_INFO_DEADLINE: DeadlineEvents(due_soon=WorkInfoDueSoon, overdue=WorkInfoOverdue),
}
