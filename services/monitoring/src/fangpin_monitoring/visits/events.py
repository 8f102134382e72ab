"""What the visits package emits, and the events of its deadline kinds."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import (
    VisitDueSoon,
    VisitOverdue,
    VisitRecorded,
    VisitRecordedData,
    VisitRiskFound,
    VisitRiskFoundData,
)
from fangpin_monitoring.visits.models import Visit
from fangpin_monitoring.visits.rules import MONTHLY, Q1

DEADLINE_EVENTS = {
    MONTHLY: DeadlineEvents(due_soon=VisitDueSoon, overdue=VisitOverdue),
    Q1: DeadlineEvents(due_soon=VisitDueSoon, overdue=VisitOverdue),
}


def visit_recorded(visit: Visit, now) -> VisitRecorded:
    return VisitRecorded(subject=visit.household_id, time=now, data=VisitRecordedData(
        visit_id=visit.id, household_id=visit.household_id, township=visit.township,
        village=visit.village, visited_on=visit.visited_on, visitor_name=visit.visitor_name,
        grid_area_id=visit.grid_area_id, leaflet_explained=visit.leaflet_explained,
        risk_found=visit.risk_found, risk_types=list(visit.risk_types)))


def visit_risk_found(visit: Visit, now) -> VisitRiskFound:
    return VisitRiskFound(subject=visit.household_id, time=now, data=VisitRiskFoundData(
        visit_id=visit.id, household_id=visit.household_id, township=visit.township,
        village=visit.village, visited_on=visit.visited_on, risk_types=list(visit.risk_types),
        grid_area_id=visit.grid_area_id))
