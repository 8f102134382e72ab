"""Pure rules of household income (M6, M12): net income, per capita, the ledger, stability.

Money is integer fen; per-capita figures are Decimal yuan rounded half-up to the fen. A year
with fewer than 12 months collected is annualised (total × 12 / months), so that a household
in April is compared with the yearly line on the same footing as in December.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

# Source → sign in the net income. Production costs are recorded apart and subtracted.
SOURCES: dict[str, int] = {
    "工资性收入": 1,
    "生产经营性收入": 1,
    "财产性收入": 1,
    "转移性收入": 1,
    "生产经营性支出": -1,
}
COLLECTION_DEADLINE = "income.collection"
DEFAULT_COLLECTION_DAYS = 10  # days after the month ends; the county sets its own
DEFAULT_COLLECTION_WARN = 3

BELOW_LINE, FELL, RELOCATED = "below_line", "fell", "relocated"
REASON_NAMES = {BELOW_LINE: "人均纯收入低于监测线", FELL: "收入下降", RELOCATED: "易地搬迁户"}

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
FEN = Decimal("0.01")


def period_problem(period: str, today: date) -> str | None:
    match = _PERIOD.match(period)
    if not match:
        return f"月份“{period}”格式应为 YYYY-MM（如 2024-04）"
    if (int(match[1]), int(match[2])) > (today.year, today.month):
        return f"月份 {period} 晚于本月（{today:%Y-%m}）"
    return None


def month_start(period: str) -> date:
    return date(int(period[:4]), int(period[5:7]), 1)


def month_after(period: str) -> date:
    year, month = int(period[:4]), int(period[5:7])
    return date(year + (month == 12), month % 12 + 1, 1)


def months_before(day: date, count: int) -> list[str]:
    """The `count` complete months before `day`'s month, oldest first."""
    index = day.year * 12 + day.month - 1
    return [f"{(i) // 12:04d}-{(i) % 12 + 1:02d}" for i in range(index - count, index)]


def net_fen(items: Iterable[tuple[str, int]]) -> int:
    return sum(SOURCES[source] * amount for source, amount in items)


def yuan_to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def per_capita_yuan(total_fen: int, persons: int, months: int = 12) -> Decimal | None:
    """Per-capita net income per year in yuan; annualised when fewer than 12 months."""
    if persons <= 0 or months <= 0:
        return None
    return (Decimal(total_fen) * 12 / months / persons / 100).quantize(FEN, ROUND_HALF_UP)


@dataclass(frozen=True)
class LedgerEntry:
    per_capita: Decimal | None
    basis_year: int | None
    previous: Decimal | None
    reasons: list[str] = field(default_factory=list)


def ledger_entry(year: int, this_fen: int, this_months: int, last_fen: int, last_months: int,
                 persons: int, relocated: bool, line: Decimal) -> LedgerEntry:
    """Why a household is on the income-growth ledger of `year` (M6), if it is.

    Without any month of `year` collected, last year's figure stands in.
    """
    current = per_capita_yuan(this_fen, persons, this_months)
    previous = per_capita_yuan(last_fen, persons, last_months)
    basis = year if current is not None else (year - 1 if previous is not None else None)
    figure = current if current is not None else previous
    reasons = []
    if figure is not None and figure < line:
        reasons.append(BELOW_LINE)
    if current is not None and previous is not None and current < previous:
        reasons.append(FELL)
    if relocated:
        reasons.append(RELOCATED)
    return LedgerEntry(figure, basis, previous if current is not None else None, reasons)


def stable_income_problems(monthly_fen: Mapping[str, int], months: list[str], persons: int,
                           line: Decimal) -> list[str]:
    """Risk elimination needs income stably above the line for half a year: every one of the
    last six months collected, the six months annualised per person at or above the line, and
    the latest three months too (income not falling back under it)."""
    missing = [m for m in months if m not in monthly_fen]
    if missing:
        return [f"近{len(months)}个月收入未按月采集（缺 {'、'.join(missing)}），无法认定收入稳定"]
    problems = []
    half = per_capita_yuan(sum(monthly_fen[m] for m in months), persons, len(months))
    if half is None or half < line:
        problems.append(f"近{len(months)}个月人均纯收入折合全年 {half} 元，低于监测线 {line} 元")
    recent = months[-3:]
    quarter = per_capita_yuan(sum(monthly_fen[m] for m in recent), persons, len(recent))
    if not problems and (quarter is None or quarter < line):
        problems.append(f"近3个月人均纯收入折合全年 {quarter} 元，低于监测线 {line} 元，收入不稳定")
    return problems
