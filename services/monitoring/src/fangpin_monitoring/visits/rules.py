"""Pure rules of the visit ledger (M2, M3): periods, deadlines' subjects and dates, coverage."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTHLY = "visit.monthly"  # every household of a grid area, at least once a month
Q1 = "visit.q1"  # every 脱贫户 and 监测户, once in the first quarter
# Days after the period's end (grace) and warning days before it: plan values.
DEFAULTS = {MONTHLY: (0, 5), Q1: (0, 10)}
Q1_CATEGORIES = ("脱贫户", "监测户")


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def next_month(day: date) -> date:
    return month_end(day) + timedelta(days=1)


def months_to_open(today: date) -> list[date]:
    """The daily job opens this month's deadlines (late additions) and next month's."""
    return [month_start(today), next_month(today)]


def monthly_subject(household_id: str, month: date) -> str:
    return f"{household_id}:{month:%Y-%m}"


def q1_subject(household_id: str, year: int) -> str:
    return f"{household_id}:{year}Q1"


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date
    label: str


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-?Q1$", re.IGNORECASE)


def parse_period(text: str) -> Period:
    """"2024-04" (a month's grid visits) or "2024Q1" (the Q1 full visit); ValueError if neither."""
    if m := _MONTH.match(text.strip()):
        year, month = int(m.group(1)), int(m.group(2))
        if 1 <= month <= 12 and 2000 <= year <= 2100:
            start = date(year, month, 1)
            return Period(MONTHLY, start, month_end(start), f"{start:%Y-%m}")
    if m := _QUARTER.match(text.strip()):
        year = int(m.group(1))
        if 2000 <= year <= 2100:
            return Period(Q1, date(year, 1, 1), date(year, 3, 31), f"{year}Q1")
    raise ValueError(f"期间“{text}”无法识别：月度走访填 2024-04，一季度遍访填 2024Q1")


def due_on(period_end: date, grace_days: int) -> date:
    return period_end + timedelta(days=grace_days)


def visit_date_problem(visited_on: date, today: date) -> str | None:
    if visited_on > today:
        return f"走访日期 {visited_on} 晚于今天（{today}）"
    if visited_on.year < today.year - 1:
        return f"走访日期 {visited_on} 过早：只能补录今年和上一年的走访"
    return None


def risk_problem(risk_found: bool, risk_types: list[str]) -> tuple[str, str] | None:
    """(field, reason) when the risk flag and the risk types disagree."""
    if risk_found and not risk_types:
        return "risk_types", "发现风险时须选择至少一种风险类型"
    if not risk_found and risk_types:
        return "risk_found", "填写了风险类型，但“是否发现风险”为否"
    return None


def rate(done: int, due: int) -> float | None:
    return round(done / due, 4) if due else None
