"""Pure rules about cases (M8)."""

from __future__ import annotations

from datetime import date

HELPER_DEADLINE = "case.helper"  # at least one helper within 5 days of inclusion
PLAN_DEADLINE = "case.plan"  # an assistance plan within 10 days of inclusion
DEFAULT_DAYS = {HELPER_DEADLINE: 5, PLAN_DEADLINE: 10}
ASSESSMENT_DEADLINE = "case.assessment"  # a risk assessment 6 months after inclusion (M9)
ASSESSMENT_MONTHS = 6
ASSESSMENT_WARN_DAYS = 0  # "assessment due" is announced on the day it falls due


def inclusion_date_problem(inclusion: date, today: date) -> str | None:
    if inclusion > today:
        return f"纳入日期 {inclusion} 晚于今天（{today}）"
    return None


def assignment_date_problem(assigned: date, inclusion: date, today: date) -> str | None:
    if assigned > today:
        return f"安排日期 {assigned} 晚于今天（{today}）"
    if assigned < inclusion:
        return f"安排日期 {assigned} 早于纳入日期 {inclusion}"
    return None
