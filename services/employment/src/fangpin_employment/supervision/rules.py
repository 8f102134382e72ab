"""Pure rules of supervision (E13)."""

from __future__ import annotations

from datetime import date

PLANNED_PER_QUARTER = (2, 3)  # "每季度不定期…进行2—3次暗访和抽查"


def meets_plan(unannounced_checks: int, planned: tuple[int, int] = PLANNED_PER_QUARTER) -> bool:
    return unannounced_checks >= planned[0]


def check_problems(*, checked_on: date, today: date, notify_units: list[list[str]],
                   known_units: set[str]) -> list[tuple[list, str]]:
    problems: list[tuple[list, str]] = []
    if checked_on > today:
        problems.append((["checked_on"], f"检查日期 {checked_on} 晚于今天"))
    for i, units in enumerate(notify_units):
        for j, unit in enumerate(units):
            if unit not in known_units:
                problems.append((["findings", i, "notify_units", j], f"未知单位：{unit}"))
    return problems
