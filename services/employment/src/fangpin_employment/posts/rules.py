"""Pure rules of public-welfare posts (E2)."""

from __future__ import annotations

from datetime import date

from fangpin_employment.vocabulary import WEAK_OR_HALF


def holder_problems(*, labour_capacity: str, justification: str | None, holders: int,
                    quota: int, start_on: date, today: date,
                    already_holding: bool) -> list[tuple[str, str]]:
    """The posts are for weak and half labour (兜底安置); others need a stated reason."""
    problems = []
    if holders >= quota:
        problems.append(("labourer_id", f"岗位已满（定额 {quota} 人）"))
    if labour_capacity not in WEAK_OR_HALF and not justification:
        problems.append(("justification", f"公益性岗位用于安置弱劳力、半劳力；该人员为"
                                          f"{labour_capacity}，须说明安置理由"))
    if start_on > today:
        problems.append(("start_on", f"上岗日期 {start_on} 晚于今天"))
    if already_holding:
        problems.append(("labourer_id", "该人员已在公益性岗位上"))
    return problems


def exit_problems(*, end_on: date, start_on: date, today: date) -> list[tuple[str, str]]:
    if end_on > today:
        return [("end_on", f"退出日期 {end_on} 晚于今天")]
    if end_on < start_on:
        return [("end_on", f"退出日期 {end_on} 早于上岗日期 {start_on}")]
    return []
