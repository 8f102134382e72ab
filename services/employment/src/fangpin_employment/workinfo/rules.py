"""Pure rules of quarterly work information: quarters, input problems, anomalies, stability."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fangpin_employment.vocabulary import AWAY_FROM_COUNTY

WORK_INFO_DEADLINE = "employment.work_info"
MONTHS_PER_QUARTER = 3
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_bounds(year: int, quarter: int) -> tuple[date, date]:
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1))
    return start, end - timedelta(days=1)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def parse_quarter(value: str) -> tuple[int, int] | None:
    m = _QUARTER.match(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


def subject_of(labourer_id: str, year: int, quarter: int) -> str:
    return f"{labourer_id}:{year}Q{quarter}"


def months_begun(year: int, quarter: int, on: date) -> int:
    """How many months of the quarter have begun by `on` (0 before it, 3 after it)."""
    start, end = quarter_bounds(year, quarter)
    if on < start:
        return 0
    if on > end:
        return MONTHS_PER_QUARTER
    return on.month - start.month + 1


def record_problems(*, year: int, quarter: int, months_worked: int, wage_fen: int,
                    verified_on: date | None, today: date) -> list[tuple[str, str, str]]:
    """(field, reason, code) for input that cannot be stored."""
    problems = []
    start, _ = quarter_bounds(year, quarter)
    if start > today:
        problems.append(("quarter", f"{year}年第{quarter}季度尚未开始（今天是{today}），"
                                    "不能填报未来季度的务工信息", "future_quarter"))
    if months_worked < 0:
        problems.append(("months_worked", "务工月数不能为负数", "negative_months"))
    elif months_worked > MONTHS_PER_QUARTER:
        problems.append(("months_worked", f"一个季度最多{MONTHS_PER_QUARTER}个月，"
                                          f"填报为{months_worked}个月", "too_many_months"))
    if wage_fen < 0:
        problems.append(("wage_fen", f"工资收入不能为负数（填报为{wage_fen}分）",
                         "negative_wage"))
    if verified_on is not None:
        if verified_on > today:
            problems.append(("verified_on", f"核实日期 {verified_on} 晚于今天", "future_date"))
        elif verified_on < start:
            problems.append(("verified_on", f"核实日期 {verified_on} 早于该季度开始（{start}）",
                             "before_quarter"))
    return problems


def yuan(fen: int) -> str:
    return f"{fen // 100}" if fen % 100 == 0 else f"{fen / 100:.2f}"


def anomalies(*, year: int, quarter: int, months_worked: int, wage_fen: int,
              location_type: str | None, place: str | None, employer: str | None,
              verified_on: date | None, entered_on: date, min_monthly_fen: int,
              max_monthly_fen: int, home_all_quarter: bool = False) -> list[tuple[str, str]]:
    """(code, message) for each implausibility of one quarter's record (E7)."""
    found: list[tuple[str, str]] = []
    _, end = quarter_bounds(year, quarter)
    reference = verified_on or entered_on
    if reference <= end:
        begun = months_begun(year, quarter, reference)
        if months_worked > begun:
            found.append(("months_exceed_quarter",
                          f"务工月数（{months_worked}）超过填报时本季度已过月数（{begun}）"))
    if months_worked == 0 and wage_fen > 0:
        found.append(("wage_without_months", f"务工月数为0但有工资收入{yuan(wage_fen)}元"))
    if months_worked > 0:
        if wage_fen == 0:
            found.append(("months_without_wage", f"务工{months_worked}个月但工资收入为0"))
        else:
            monthly = wage_fen // months_worked
            if monthly < min_monthly_fen:
                found.append(("wage_too_low", f"月均工资{yuan(monthly)}元，低于合理下限"
                                              f"{yuan(min_monthly_fen)}元"))
            if monthly > max_monthly_fen:
                found.append(("wage_too_high", f"月均工资{yuan(monthly)}元，高于合理上限"
                                               f"{yuan(max_monthly_fen)}元"))
        if not location_type or not place:
            found.append(("location_missing", "有务工月数但务工地点缺失"))
        if not employer:
            found.append(("employer_missing", "有务工月数但用工单位缺失"))
        if location_type in AWAY_FROM_COUNTY and home_all_quarter:
            found.append(("away_while_home", f"登记为{location_type}务工，但本季度一直返乡在家"))
    if verified_on is None:
        found.append(("not_verified", "未与农户核实确认"))
    elif verified_on > end:
        found.append(("verified_late", f"核实日期 {verified_on} 晚于季度末 {end}"))
    return found


MISSING = ("missing", "本季度未采集务工信息")


def is_stable(months_in_year: int, stable_months: int) -> bool:
    return months_in_year >= stable_months


def transferred(months_worked: int, location_type: str | None) -> bool:
    """Transfer employment in a quarter: worked off-farm for at least one month."""
    return months_worked > 0 and location_type is not None
