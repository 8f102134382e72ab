"""What the cases package emits, and the events of its deadline kinds."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import (
    CaseAssessmentDue,
    CaseAssessmentOverdue,
    CaseHelperAssigned,
    CaseHelperDueSoon,
    CaseHelperOverdue,
    CaseOpened,
    CaseOpenedData,
    CasePlanDueSoon,
    CasePlanOverdue,
    HelperAssignedData,
)
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.cases.rules import ASSESSMENT_DEADLINE, HELPER_DEADLINE, PLAN_DEADLINE

DEADLINE_EVENTS = {
    HELPER_DEADLINE: DeadlineEvents(due_soon=CaseHelperDueSoon, overdue=CaseHelperOverdue),
    PLAN_DEADLINE: DeadlineEvents(due_soon=CasePlanDueSoon, overdue=CasePlanOverdue),
    # due_soon fires on the due date itself (warn 0 days): "the assessment falls due".
    ASSESSMENT_DEADLINE: DeadlineEvents(due_soon=CaseAssessmentDue,
                                        overdue=CaseAssessmentOverdue),
}


def case_opened(case: Case, now) -> CaseOpened:
    return CaseOpened(subject=case.id, time=now, data=CaseOpenedData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, category=case.category, risk_types=case.risk_types,
        inclusion_date=case.inclusion_date, previous_case_id=case.previous_case_id))


def helper_assigned(case: Case, helper: Helper, late: bool, now) -> CaseHelperAssigned:
    return CaseHelperAssigned(subject=case.id, time=now, data=HelperAssignedData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, helper_id=helper.id, helper_name=helper.name,
        helper_unit=helper.unit, assigned_on=helper.assigned_on, late=late))
