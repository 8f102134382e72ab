"""What the identification package emits, and the events of its deadline kinds."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.monitoring import (
    IdentificationStarted,
    IdentificationStartedData,
    IdentificationStepData,
    IdentificationStepDueSoon,
    IdentificationStepOverdue,
    IdentificationStepRecorded,
)
from fangpin_monitoring.identification import rules
from fangpin_monitoring.identification.models import Identification, IdentificationStep

DEADLINE_EVENTS = {
    rules.deadline_kind(step): DeadlineEvents(due_soon=IdentificationStepDueSoon,
                                              overdue=IdentificationStepOverdue)
    for step in rules.STEPS
}


def started(ident: Identification, now) -> IdentificationStarted:
    return IdentificationStarted(subject=ident.id, time=now, data=IdentificationStartedData(
        identification_id=ident.id, household_id=ident.household_id, township=ident.township,
        village=ident.village, source=ident.source, warning_id=ident.warning_id,
        risk_types=ident.risk_types, started_on=ident.started_on))


def step_recorded(ident: Identification, step: IdentificationStep,
                  now) -> IdentificationStepRecorded:
    return IdentificationStepRecorded(subject=ident.id, time=now, data=IdentificationStepData(
        identification_id=ident.id, household_id=ident.household_id, township=ident.township,
        village=ident.village, step=step.step, outcome=step.outcome, done_on=step.done_on,
        due_on=step.due_on, late=step.late, next_step=ident.next_step, case_id=ident.case_id))
