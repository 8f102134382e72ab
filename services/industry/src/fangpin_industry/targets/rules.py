"""Pure rules about production targets and their progress reports (I1, I7)."""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2])|-Q([1-4]))?$")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def period_bounds(period: str) -> tuple[date, date] | None:
    """First and last day of a reporting period: 2024-03 (month), 2024-Q1 (quarter), 2024."""
    m = _PERIOD.match(period)
    if m is None:
        return None
    year = int(m.group(1))
    if m.group(2):
        first_month = last_month = int(m.group(2))
    elif m.group(3):
        last_month = int(m.group(3)) * 3
        first_month = last_month - 2
    else:
        first_month, last_month = 1, 12
    return (date(year, first_month, 1),
            date(year, last_month, calendar.monthrange(year, last_month)[1]))


def period_problem(period: str, year: int, today: date) -> str | None:
    bounds = period_bounds(period)
    if bounds is None:
        return f"报告期 {period!r} 格式不对：应为 2024-03（月）、2024-Q1（季度）或 2024（年度）"
    start, _ = bounds
    if start.year != year:
        return f"报告期 {period} 不在指标年度 {year} 年内"
    if start > today:
        return f"报告期 {period} 尚未开始（今天是 {today}）"
    return None


def value_problem(measure: str, value: Decimal) -> str | None:
    if not value.is_finite():
        return "完成值须为有限数字"
    # Quantities (area, output, head) cannot be negative; a growth rate can.
    if measure == "quantity" and value < 0:
        return f"完成值不能为负数（{value}）"
    return None


@dataclass(frozen=True)
class Report:
    unit: str
    period: str
    period_end: date
    value: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class Progress:
    achieved: Decimal | None
    percent: Decimal | None
    met: bool
    latest: dict[str, Report]  # unit → the report that counts


def latest_by_unit(reports: Iterable[Report]) -> dict[str, Report]:
    """Each unit's report for the latest period (the latest correction when periods tie)."""
    latest: dict[str, Report] = {}
    for r in reports:
        seen = latest.get(r.unit)
        if seen is None or (r.period_end, r.updated_at) > (seen.period_end, seen.updated_at):
            latest[r.unit] = r
    return latest


def percent_of(part: Decimal, whole: Decimal) -> Decimal | None:
    if whole == 0:
        return None
    return (part * HUNDRED / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def progress(measure: str, target: Decimal, lead: str, reports: Iterable[Report]) -> Progress:
    """Reports are cumulative for the year. A quantity adds up the units' latest reports; a
    rate (a county-wide percentage) is what the lead unit last reported."""
    latest = latest_by_unit(reports)
    if measure == "rate":
        achieved = latest[lead].value if lead in latest else None
    else:
        achieved = sum((r.value for r in latest.values()), Decimal(0)) if latest else None
    if achieved is None:
        return Progress(None, None, False, latest)
    return Progress(achieved, percent_of(achieved, target), achieved >= target, latest)
