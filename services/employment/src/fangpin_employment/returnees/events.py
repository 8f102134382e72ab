"""What the returnees package emits, and the events of its deadline kind."""

from __future__ import annotations

from datetime import date, datetime

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.employment import (
    ReturneeAssistanceDueSoon,
    ReturneeAssistanceOverdue,
    WorkerReturnedHome,
    WorkerReturnedHomeData,
)
from fangpin_employment.returnees.rules import RETURNEE_ASSISTANCE_DEADLINE

DEADLINE_EVENTS = {
    RETURNEE_ASSISTANCE_DEADLINE: DeadlineEvents(due_soon=ReturneeAssistanceDueSoon,
                                                 overdue=ReturneeAssistanceOverdue),
}


def returned_home(row, qualified_on: date, now: datetime) -> WorkerReturnedHome:
    return WorkerReturnedHome(subject=row.labourer_id, time=now, data=WorkerReturnedHomeData(
        return_id=row.id, labourer_id=row.labourer_id, household_id=row.household_id,
        township=row.township, village=row.village,
        previous_location_type=row.previous_location_type, back_since=row.back_since,
        qualified_on=qualified_on))
