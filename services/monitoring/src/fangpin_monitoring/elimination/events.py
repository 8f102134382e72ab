"""What the elimination package emits."""

from __future__ import annotations

from fangpin_common.events.monitoring import (
    AssessedData,
    CaseAssessed,
    CaseEliminationStepRecorded,
    CaseRiskEliminated,
    EliminationStepData,
    RiskEliminatedData,
)
from fangpin_monitoring.cases.models import Case
from fangpin_monitoring.elimination.models import Elimination, EliminationStep, RiskAssessment
from fangpin_monitoring.elimination.rules import full_months


def assessed(case: Case, a: RiskAssessment, now) -> CaseAssessed:
    return CaseAssessed(subject=case.id, time=now, data=AssessedData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, assessment_id=a.id, assessed_on=a.assessed_on,
        conclusion=a.conclusion, late=a.late))


def step_recorded(case: Case, e: Elimination, step: EliminationStep,
                  now) -> CaseEliminationStepRecorded:
    return CaseEliminationStepRecorded(subject=case.id, time=now, data=EliminationStepData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, elimination_id=e.id, step=step.step, outcome=step.outcome,
        done_on=step.done_on, next_step=e.next_step))


def risk_eliminated(case: Case, e: Elimination, now) -> CaseRiskEliminated:
    return CaseRiskEliminated(subject=case.id, time=now, data=RiskEliminatedData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, elimination_id=e.id, inclusion_date=case.inclusion_date,
        eliminated_on=e.concluded_on,
        months_monitored=full_months(case.inclusion_date, e.concluded_on)))
