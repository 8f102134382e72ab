"""Events published by the monitoring service (stream FANGPIN_MONITORING)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fangpin_common.events.envelope import CloudEvent, DeadlineData, EventData, register


class MemberSnapshot(EventData):
    member_id: str
    name: str
    sex: str
    birth_date: date
    relation: str
    labour_capacity: str
    in_school: bool = False
    deceased: bool = False


class HouseholdUpsertedData(EventData):
    household_id: str
    township: str
    village: str
    category: str
    monitoring_subcategory: str | None = None
    head_name: str
    members: list[MemberSnapshot]
    revision: int


@register
class HouseholdUpserted(CloudEvent):
    type: Literal["fangpin.monitoring.household.upserted"] = "fangpin.monitoring.household.upserted"
    data: HouseholdUpsertedData


class CaseOpenedData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    category: str
    risk_types: list[str]
    inclusion_date: date
    previous_case_id: str | None = None


@register
class CaseOpened(CloudEvent):
    type: Literal["fangpin.monitoring.case.opened"] = "fangpin.monitoring.case.opened"
    data: CaseOpenedData


class HelperAssignedData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    helper_id: str
    helper_name: str
    helper_unit: str | None = None
    assigned_on: date
    late: bool


@register
class CaseHelperAssigned(CloudEvent):
    type: Literal["fangpin.monitoring.case.helper_assigned"] = (
        "fangpin.monitoring.case.helper_assigned"
    )
    data: HelperAssignedData


@register
class CaseHelperDueSoon(CloudEvent):
    type: Literal["fangpin.monitoring.case.helper_due_soon"] = (
        "fangpin.monitoring.case.helper_due_soon"
    )
    data: DeadlineData


@register
class CaseHelperOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.case.helper_overdue"] = (
        "fangpin.monitoring.case.helper_overdue"
    )
    data: DeadlineData


@register
class CasePlanDueSoon(CloudEvent):
    type: Literal["fangpin.monitoring.case.plan_due_soon"] = "fangpin.monitoring.case.plan_due_soon"
    data: DeadlineData


@register
class CasePlanOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.case.plan_overdue"] = "fangpin.monitoring.case.plan_overdue"
    data: DeadlineData


# -- visits (遍访, M2/M3) -------------------------------------------------------------------
class VisitRecordedData(EventData):
    visit_id: str
    household_id: str
    township: str
    village: str
    visited_on: date
    visitor_name: str
    grid_area_id: str | None = None
    leaflet_explained: bool
    risk_found: bool
    risk_types: list[str] = []


@register
class VisitRecorded(CloudEvent):
    """A visit (走访) was entered into the visit ledger."""

    type: Literal["fangpin.monitoring.visit.recorded"] = "fangpin.monitoring.visit.recorded"
    data: VisitRecordedData


class VisitRiskFoundData(EventData):
    visit_id: str
    household_id: str
    township: str
    village: str
    visited_on: date
    risk_types: list[str]
    grid_area_id: str | None = None


@register
class VisitRiskFound(CloudEvent):
    """A visit found a risk of (re)falling into poverty: a warning clue (M3)."""

    type: Literal["fangpin.monitoring.visit.risk_found"] = "fangpin.monitoring.visit.risk_found"
    data: VisitRiskFoundData


@register
class VisitDueSoon(CloudEvent):
    """A monthly grid visit or the Q1 full visit of a household falls due soon."""

    type: Literal["fangpin.monitoring.visit.due_soon"] = "fangpin.monitoring.visit.due_soon"
    data: DeadlineData


@register
class VisitOverdue(CloudEvent):
    """A monthly grid visit or the Q1 full visit of a household is overdue."""

    type: Literal["fangpin.monitoring.visit.overdue"] = "fangpin.monitoring.visit.overdue"
    data: DeadlineData
