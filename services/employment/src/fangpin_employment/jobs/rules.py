"""Pure rules of postings and work-relief wages."""

from __future__ import annotations

from datetime import date


def posting_problems(*, wage_min_fen: int | None, wage_max_fen: int | None,
                     closes_on: date | None, today: date) -> list[tuple[str, str]]:
    problems = []
    if wage_min_fen is not None and wage_max_fen is not None and wage_min_fen > wage_max_fen:
        problems.append(("wage_max_fen", "工资上限低于下限"))
    if closes_on is not None and closes_on < today:
        problems.append(("closes_on", f"截止日期 {closes_on} 早于今天"))
    return problems


def wage_due(days_worked: int, daily_wage_fen: int) -> int:
    return days_worked * daily_wage_fen


def unpaid(due_fen: int, paid_fen: int) -> int:
    """What is still owed; the plan requires wages paid in full (足额发放)."""
    return max(0, due_fen - paid_fen)
