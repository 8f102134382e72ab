"""Pure rules of the monthly form 未转移就业脱贫劳动力就业情况统计表 (E5, annex 2 of the plan)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta

from fangpin_employment.assistance import rules as package_rules
from fangpin_employment.policy import PackageItem
from fangpin_employment.vocabulary import EMPLOYED_OUTCOMES, IN_COUNTY, KEY_GROUPS

FORM_NAME = "未转移就业脱贫劳动力就业情况统计表"
# The plan's 14 columns, in its order.
COLUMNS = ("序号", "县(区)", "乡(镇)", "村(安置点)", "姓名", "性别", "年龄", "未转移就业人员类型",
           "家庭类型", "是否开展“251”就业帮扶", "开展“251”帮扶是否有台账", "目前转移就业状况",
           "未转移就业原因", "备注")
FOOTER = ("填报人:", "联系电话:")  # as the plan prints them

FORM_TOWNSHIP_DEADLINE = "employment.form.township"  # townships: by the 3rd of each month
FORM_COUNTY_DEADLINE = "employment.form.county"  # the county to the city: by the 5th
DEFAULT_DAY = {FORM_TOWNSHIP_DEADLINE: 3, FORM_COUNTY_DEADLINE: 5}

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(value: str) -> tuple[int, int] | None:
    m = _PERIOD.match(value)
    return (int(m.group(1)), int(m.group(2))) if m else None


def period_of(day: date) -> str:
    return f"{day.year}-{day.month:02d}"


def period_bounds(year: int, month: int) -> tuple[date, date]:
    start = date(year, month, 1)
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return start, following - timedelta(days=1)


def period_problem(value: str, today: date) -> str | None:
    parsed = parse_period(value)
    if parsed is None:
        return f"统计月份 {value} 格式应为 YYYY-MM"
    if period_bounds(*parsed)[0] > today:
        return f"统计月份 {value} 尚未开始（今天是{today}）"
    return None


def as_of(year: int, month: int, today: date) -> date:
    """The form of a past month shows the state at its end; the current month's, today's."""
    return min(today, period_bounds(year, month)[1])


def deadline_start(year: int, month: int) -> date:
    """Deadlines count days from the eve of the month: `days: 3` falls due on the 3rd."""
    return period_bounds(year, month)[0] - timedelta(days=1)


def family_type(category: str, subcategory: str | None) -> str:
    if category == "监测户" and subcategory:
        return f"监测户（{subcategory}）"
    return category


def employment_status(*, latest: tuple[int, int, int, str | None] | None,
                      latest_start: date | None, back_since: date | None,
                      outcome: tuple[str, date] | None) -> tuple[bool, str]:
    """(transferred, 目前转移就业状况) from the records.

    latest: (year, quarter, months_worked, location_type) of the latest quarter recorded;
    back_since: the open return, if the labourer is back home; outcome: the latest key-group
    assistance outcome and its date.
    """
    if outcome is not None and outcome[0] in EMPLOYED_OUTCOMES and (
            back_since is None or outcome[1] >= back_since):
        return True, f"已就业（{outcome[0]}）"
    worked = latest is not None and latest[2] > 0 and latest[3] is not None
    if back_since is not None:
        # Work recorded in the county for a quarter after the return counts as work.
        if worked and latest[3] == IN_COUNTY and latest_start is not None and (
                latest_start >= back_since):
            return True, f"已转移就业（{IN_COUNTY}）"
        return False, "返乡未就业"
    if worked:
        return True, f"已转移就业（{latest[3]}）"
    if latest is not None:
        return False, "未就业"
    return False, "未就业（本年度未采集务工信息）"


def person_types(groups: Sequence[str]) -> str:
    ordered = [g for g in KEY_GROUPS if g in set(groups)]
    return "、".join(ordered) if ordered else "其他"


def remark(counts: Mapping[str, int], package: tuple[PackageItem, ...],
           note: str | None) -> str:
    parts = [note] if note else []
    if not package_rules.carried_out(counts, package):
        parts.append(f"“251”帮扶进度：{package_rules.progress_text(counts, package)}")
    return "；".join(parts)


def form_row(*, serial: int, county_name: str, township_name: str, village: str, name: str,
             sex: str, age: int, groups: Sequence[str], category: str,
             subcategory: str | None, counts: Mapping[str, int],
             package: tuple[PackageItem, ...], status: str, reason: str | None,
             note: str | None) -> list:
    return [
        serial, county_name, township_name, village, name, sex, age, person_types(groups),
        family_type(category, subcategory),
        package_rules.yes_no(package_rules.carried_out(counts, package)),
        package_rules.yes_no(package_rules.has_ledger(counts)),
        status, reason or "", remark(counts, package, note),
    ]


def renumber(rows: Sequence[list]) -> list[list]:
    return [[i, *row[1:]] for i, row in enumerate(rows, start=1)]
