"""Pure rules of warnings: reasons, periods, what "already open" means, verification."""

from __future__ import annotations

import re
from datetime import date

from fangpin_monitoring.warnings.kinds import WarningKind

VERIFICATION_DEADLINE = "warning.verification"
# The plan asks for timely verification without a number; a county sets its own.
DEFAULT_VERIFICATION_DAYS = 7
DEFAULT_VERIFICATION_WARN = 2

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


_EMPTY_BRACKETS = re.compile(r"（\s*）|\(\s*\)")
_SPACES = re.compile(r"\s{2,}")


def render_reason(kind: WarningKind, values: dict, department_name: str) -> str:
    """The kind's reason template over a row; empty columns leave no empty brackets behind."""
    fields = _Blank({k: v for k, v in values.items() if v is not None})
    fields["kind_name"] = kind.name
    fields["department_name"] = department_name
    text = kind.reason.format_map(fields)
    if "（" in text or "(" in text:
        text = _EMPTY_BRACKETS.sub("", text)
    return _SPACES.sub(" ", text).strip("，, ")


def period_problem(period: str, today: date) -> str | None:
    match = _PERIOD.match(period)
    if not match:
        return f"数据期间“{period}”格式应为 YYYY-MM（如 2024-04）"
    if (int(match[1]), int(match[2])) > (today.year, today.month):
        return f"数据期间 {period} 晚于本月（{today:%Y-%m}）"
    return None


def dedupe_key(kind_code: str, member_id: str | None, household_id: str,
               dedupe: str) -> str:
    """Two warnings with the same key are the same warning while one is open."""
    return f"{kind_code}:{member_id if dedupe == 'person' and member_id else household_id}"


def verification_problem(decision: str, reason: str | None, category: str | None,
                         verified_on: date, raised_on: date, today: date) -> tuple[str, str] | None:
    """(field, why) when a township's verification cannot be accepted."""
    if verified_on > today:
        return "verified_on", f"核实日期 {verified_on} 晚于今天（{today}）"
    if verified_on < raised_on:
        return "verified_on", f"核实日期 {verified_on} 早于预警日期 {raised_on}"
    if decision == "dismiss" and not (reason and reason.strip()):
        return "reason", "核实不纳入须写明原因"
    if decision == "include" and category is None:
        return "category", "拟纳入须选择监测对象类别（脱贫不稳定户、边缘易致贫户或突发严重困难户）"
    return None


def can_upload(kind: WarningKind, role: str, department: str | None, unit: str | None) -> bool:
    """The county bureau uploads any kind; a department only the kinds it sends."""
    if role == "county":
        return True
    return role == "department" and kind.department in {department, unit}
