"""Pure rules of workshops (E3): headcounts over time, subsidies, dates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from fangpin_employment.returnees.rules import add_months


def employed_on(intervals: Iterable[tuple[date, date | None]], on: date) -> int:
    """How many of (start, end) spans cover `on` (end is the last day, None = still there)."""
    return sum(1 for start, end in intervals if start <= on and (end is None or end >= on))


def monthly_series(intervals: list[tuple[date, date | None]], year: int,
                   until: date) -> list[tuple[str, int]]:
    """Headcount at each month's end (or `until` for the current month) of the year."""
    out = []
    for month in range(1, 13):
        end = add_months(date(year, month, 1), 1).replace(day=1)
        day = min(date.fromordinal(end.toordinal() - 1), until)
        if date(year, month, 1) > until:
            break
        out.append((f"{year}-{month:02d}", employed_on(intervals, day)))
    return out


def one_time_problem(kind: str, already: bool) -> str | None:
    if kind == "一次性建设补助" and already:
        return "一次性建设补助每个车间只能发放一次"
    return None


def date_problem(field_date: date, today: date, not_before: date | None = None,
                 label: str = "日期") -> str | None:
    if field_date > today:
        return f"{label} {field_date} 晚于今天"
    if not_before is not None and field_date < not_before:
        return f"{label} {field_date} 早于 {not_before}"
    return None
