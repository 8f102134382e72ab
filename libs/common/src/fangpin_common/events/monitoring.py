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


# --- Warnings (M4, M5, M7): departmental data comparison ------------------------------------

class WarningRaisedData(EventData):
    warning_id: str
    kind: str
    source: str  # "department" (a compared file) or a manual clue
    household_id: str
    member_id: str | None = None
    township: str
    village: str
    risk_type: str
    reason: str
    upload_id: str | None = None
    raised_on: date
    verify_due_on: date


@register
class WarningRaised(CloudEvent):
    """A department's data (or a clue) points at a household: the township must verify it."""

    type: Literal["fangpin.monitoring.warning.raised"] = "fangpin.monitoring.warning.raised"
    data: WarningRaisedData


class WarningVerifiedData(EventData):
    warning_id: str
    kind: str
    household_id: str
    township: str
    village: str
    decision: Literal["include", "dismiss"]
    reason: str | None = None
    verified_on: date
    late: bool
    identification_id: str | None = None


@register
class WarningVerified(CloudEvent):
    type: Literal["fangpin.monitoring.warning.verified"] = "fangpin.monitoring.warning.verified"
    data: WarningVerifiedData


@register
class WarningVerificationDueSoon(CloudEvent):
    type: Literal["fangpin.monitoring.warning.verification_due_soon"] = (
        "fangpin.monitoring.warning.verification_due_soon"
    )
    data: DeadlineData


@register
class WarningVerificationOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.warning.verification_overdue"] = (
        "fangpin.monitoring.warning.verification_overdue"
    )
    data: DeadlineData


# --- Identification (M1) --------------------------------------------------------------------

class IdentificationStartedData(EventData):
    identification_id: str
    household_id: str
    township: str
    village: str
    source: str
    warning_id: str | None = None
    risk_types: list[str]
    started_on: date


@register
class IdentificationStarted(CloudEvent):
    type: Literal["fangpin.monitoring.identification.started"] = (
        "fangpin.monitoring.identification.started"
    )
    data: IdentificationStartedData


class IdentificationStepData(EventData):
    identification_id: str
    household_id: str
    township: str
    village: str
    step: str
    outcome: Literal["pass", "reject"]
    done_on: date
    due_on: date | None = None
    late: bool
    next_step: str | None = None
    case_id: str | None = None


@register
class IdentificationStepRecorded(CloudEvent):
    type: Literal["fangpin.monitoring.identification.step_recorded"] = (
        "fangpin.monitoring.identification.step_recorded"
    )
    data: IdentificationStepData


@register
class IdentificationStepDueSoon(CloudEvent):
    type: Literal["fangpin.monitoring.identification.step_due_soon"] = (
        "fangpin.monitoring.identification.step_due_soon"
    )
    data: DeadlineData


@register
class VisitOverdue(CloudEvent):
    """A monthly grid visit or the Q1 full visit of a household is overdue."""

    type: Literal["fangpin.monitoring.visit.overdue"] = "fangpin.monitoring.visit.overdue"
    data: DeadlineData


@register
class IdentificationStepOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.identification.step_overdue"] = (
        "fangpin.monitoring.identification.step_overdue"
    )
    data: DeadlineData


# --- Assistance plans (M8) ------------------------------------------------------------------

class PlanFiledData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    plan_id: str
    filed_on: date
    late: bool
    measure_types: list[str]
    developmental: int
    safety_net: int
    labour: str  # full | weak | none
    labour_warnings: list[str]


@register
class CasePlanFiled(CloudEvent):
    type: Literal["fangpin.monitoring.case.plan_filed"] = "fangpin.monitoring.case.plan_filed"
    data: PlanFiledData


class MeasureAddedData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    measure_id: str
    measure_type: str
    measure_kind: str  # developmental | safety_net | other
    responsible_unit: str
    status: str
    start_on: date


@register
class CaseMeasureAdded(CloudEvent):
    type: Literal["fangpin.monitoring.case.measure_added"] = (
        "fangpin.monitoring.case.measure_added"
    )
    data: MeasureAddedData


# --- Income (M6, M12) -----------------------------------------------------------------------

@register
class IncomeCollectionDueSoon(CloudEvent):
    type: Literal["fangpin.monitoring.income.collection_due_soon"] = (
        "fangpin.monitoring.income.collection_due_soon"
    )
    data: DeadlineData


@register
class IncomeCollectionOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.income.collection_overdue"] = (
        "fangpin.monitoring.income.collection_overdue"
    )
    data: DeadlineData


# --- Risk assessment and elimination (M9) ---------------------------------------------------

@register
class CaseAssessmentDue(CloudEvent):
    """Six months after inclusion: the case is due for a risk assessment."""

    type: Literal["fangpin.monitoring.case.assessment_due"] = (
        "fangpin.monitoring.case.assessment_due"
    )
    data: DeadlineData


@register
class CaseAssessmentOverdue(CloudEvent):
    type: Literal["fangpin.monitoring.case.assessment_overdue"] = (
        "fangpin.monitoring.case.assessment_overdue"
    )
    data: DeadlineData


class AssessedData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    assessment_id: str
    assessed_on: date
    conclusion: Literal["continue", "propose_elimination"]
    late: bool


@register
class CaseAssessed(CloudEvent):
    type: Literal["fangpin.monitoring.case.assessed"] = "fangpin.monitoring.case.assessed"
    data: AssessedData


class EliminationStepData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    elimination_id: str
    step: str
    outcome: Literal["pass", "reject"]
    done_on: date
    next_step: str | None = None


@register
class CaseEliminationStepRecorded(CloudEvent):
    type: Literal["fangpin.monitoring.case.elimination_step_recorded"] = (
        "fangpin.monitoring.case.elimination_step_recorded"
    )
    data: EliminationStepData


class RiskEliminatedData(EventData):
    case_id: str
    household_id: str
    township: str
    village: str
    elimination_id: str
    inclusion_date: date
    eliminated_on: date
    months_monitored: int


@register
class CaseRiskEliminated(CloudEvent):
    """County approval: the case is closed; the household's record stays."""

    type: Literal["fangpin.monitoring.case.risk_eliminated"] = (
        "fangpin.monitoring.case.risk_eliminated"
    )
    data: RiskEliminatedData


# -- the 包抓包核包过 verification campaign (M11) ---------------------------------------------
@register
class CampaignDueSoon(CloudEvent):
    """A township's checklists of a campaign fall due soon (context: campaign and counts)."""

    type: Literal["fangpin.monitoring.campaign.township_due_soon"] = (
        "fangpin.monitoring.campaign.township_due_soon"
    )
    data: DeadlineData


@register
class CampaignOverdue(CloudEvent):
    """The campaign's due date passed with checklists of the township not signed off."""

    type: Literal["fangpin.monitoring.campaign.township_overdue"] = (
        "fangpin.monitoring.campaign.township_overdue"
    )
    data: DeadlineData


class QualityRunCompletedData(EventData):
    run_id: str
    trigger: str
    business_date: date
    rules: list[str]
    found: int
    new: int
    still_open: int
    reopened: int
    fixed: int
    counts_by_rule: dict[str, int]
    # Open anomalies per township code after the run.
    counts_by_township: dict[str, int]


@register
class QualityRunCompleted(CloudEvent):
    """A data-cleaning run (M10) finished."""

    type: Literal["fangpin.monitoring.quality.run_completed"] = (
        "fangpin.monitoring.quality.run_completed"
    )
    data: QualityRunCompletedData


class AnomaliesAssignedData(EventData):
    run_id: str
    township: str
    business_date: date
    open_count: int
    new_count: int
    counts_by_rule: dict[str, int]
    link: str  # the township's list in the API


@register
class QualityAnomaliesAssigned(CloudEvent):
    """A township has anomalies to correct after a data-cleaning run (M10)."""

    type: Literal["fangpin.monitoring.quality.anomalies_assigned"] = (
        "fangpin.monitoring.quality.anomalies_assigned"
    )
    data: AnomaliesAssignedData
