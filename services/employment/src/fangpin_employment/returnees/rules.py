"""Pure rules of returnees (返乡回流) and key groups (E5)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from fangpin_employment.vocabulary import POVERTY_CATEGORIES

RETURNEE_ASSISTANCE_DEADLINE = "employment.returnee.assistance"


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def qualifies_on(back_since: date, months: int = 1) -> date:
    """The plan: back in the county for MORE than a month — the day after the month is full."""
    return add_months(back_since, months) + timedelta(days=1)


def return_problems(*, back_since: date, today: date, active: bool) -> list[tuple[str, str]]:
    problems = []
    if back_since > today:
        problems.append(("back_since", f"返乡日期 {back_since} 晚于今天（{today}）"))
    if not active:
        problems.append(("labourer_id", "该人员不在劳动力名单中（已故、已移出或无劳动能力）"))
    return problems


def left_problems(*, left_on: date, back_since: date, today: date) -> list[tuple[str, str]]:
    if left_on > today:
        return [("left_on", f"外出日期 {left_on} 晚于今天（{today}）")]
    if left_on < back_since:
        return [("left_on", f"外出日期 {left_on} 早于返乡日期 {back_since}")]
    return []


def graduate_problems(*, household_category: str, since: date,
                      today: date) -> list[tuple[str, str]]:
    problems = []
    if household_category not in POVERTY_CATEGORIES:
        problems.append(("labourer_id",
                         "高校及“雨露计划”未就业毕业生须为脱贫户（含监测户）家庭成员"))
    if since > today:
        problems.append(("since", f"日期 {since} 晚于今天"))
    return problems


def outcome_problems(*, outcome_on: date, since: date, today: date) -> list[tuple[str, str]]:
    if outcome_on > today:
        return [("outcome_on", f"帮扶结果日期 {outcome_on} 晚于今天")]
    if outcome_on < since:
        return [("outcome_on", f"帮扶结果日期 {outcome_on} 早于纳入重点群体日期 {since}")]
    return []
