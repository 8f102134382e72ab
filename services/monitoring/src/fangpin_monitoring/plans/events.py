"""What the plans package emits."""

from __future__ import annotations

from fangpin_common.events.monitoring import (
    CaseMeasureAdded,
    CasePlanFiled,
    MeasureAddedData,
    PlanFiledData,
)
from fangpin_monitoring.cases.models import Case
from fangpin_monitoring.plans.models import AssistancePlan, Measure
from fangpin_monitoring.plans.rules import DEVELOPMENTAL, SAFETY_NET, LabourCheck


def plan_filed(case: Case, plan: AssistancePlan, measures: list[Measure], check: LabourCheck,
               now) -> CasePlanFiled:
    kinds = [m.measure_kind for m in measures]
    return CasePlanFiled(subject=case.id, time=now, data=PlanFiledData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, plan_id=plan.id, filed_on=plan.filed_on, late=plan.late,
        measure_types=[m.measure_type for m in measures],
        developmental=kinds.count(DEVELOPMENTAL), safety_net=kinds.count(SAFETY_NET),
        labour=check.level, labour_warnings=check.warnings))


def measure_added(case: Case, measure: Measure, now) -> CaseMeasureAdded:
    return CaseMeasureAdded(subject=case.id, time=now, data=MeasureAddedData(
        case_id=case.id, household_id=case.household_id, township=case.township,
        village=case.village, measure_id=measure.id, measure_type=measure.measure_type,
        measure_kind=measure.measure_kind, responsible_unit=measure.responsible_unit,
        status=measure.status, start_on=measure.start_on))
