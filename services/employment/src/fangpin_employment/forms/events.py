"""What the forms package emits, and the events of its deadline kinds."""

from __future__ import annotations

from fangpin_common.deadlines import DeadlineEvents
from fangpin_common.events.employment import (
    FormDueSoon,
    FormOverdue,
    FormSubmitted,
    FormSubmittedData,
)
from fangpin_employment.forms.models import FormSubmission
from fangpin_employment.forms.rules import FORM_COUNTY_DEADLINE, FORM_TOWNSHIP_DEADLINE

DEADLINE_EVENTS = {
    FORM_TOWNSHIP_DEADLINE: DeadlineEvents(due_soon=FormDueSoon, overdue=FormOverdue),
    FORM_COUNTY_DEADLINE: DeadlineEvents(due_soon=FormDueSoon, overdue=FormOverdue),
}


def form_submitted(row: FormSubmission, now) -> FormSubmitted:
    return FormSubmitted(subject=row.id, time=now, data=FormSubmittedData(
        submission_id=row.id, level=row.level, township=row.township, period=row.period,
        version=row.version, rows=row.row_count, submitted_on=row.submitted_on, late=row.late))
