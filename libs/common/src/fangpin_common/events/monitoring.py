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
