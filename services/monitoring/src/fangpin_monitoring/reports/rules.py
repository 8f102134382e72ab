"""Pure rules of the monitoring report (M13): its period, case stages, how rows add up, and
the spreadsheet a county clerk prints."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fangpin_monitoring.campaigns import rules as campaign_rules
from fangpin_monitoring.cases import rules as case_rules
from fangpin_monitoring.identification import rules as identification_rules
from fangpin_monitoring.income import rules as income_rules
from fangpin_monitoring.reports.models import COUNT_FIELDS, DeadlineCounts, ReportRow
from fangpin_monitoring.visits import rules as visit_rules
from fangpin_monitoring.warnings import rules as warning_rules

MAX_DAYS = 366  # a year at most: the report is a monthly or quarterly supervision sheet

# An open case is in the first stage that applies: a running elimination procedure is where
# the case is, whatever came before; otherwise the first step of assistance still missing.
STAGES: tuple[tuple[str, str], ...] = (
    ("elimination_in_progress", "风险消除中"),
    ("awaiting_helper", "待落实帮扶责任人"),
    ("awaiting_plan", "待制定帮扶计划"),
    ("assessment_due", "应开展风险评估"),
    ("assisted", "帮扶中"),
)

DEADLINE_STATES = ("met_on_time", "met_late", "open_overdue", "open_not_due")

_KIND_NAMES = {
    visit_rules.MONTHLY: "月度走访",
    visit_rules.Q1: "一季度遍访",
    warning_rules.VERIFICATION_DEADLINE: "预警核实",
    case_rules.HELPER_DEADLINE: "落实帮扶责任人",
    case_rules.PLAN_DEADLINE: "制定帮扶计划",
    case_rules.ASSESSMENT_DEADLINE: "风险评估",
    income_rules.COLLECTION_DEADLINE: "收入采集",
    campaign_rules.DEADLINE: "包抓包核包过核实",
} | {identification_rules.deadline_kind(step): f"识别纳入·{name}"
     for step, name in identification_rules.STEP_NAMES.items()}


def kind_name(kind: str) -> str:
    return _KIND_NAMES.get(kind, kind)


def kind_order(kind: str) -> tuple[int, str]:
    """Kinds in the order the procedures run, unknown kinds last."""
    names = list(_KIND_NAMES)
    return (names.index(kind), kind) if kind in _KIND_NAMES else (len(names), kind)


@dataclass(frozen=True)
class ReportPeriod:
    start: date
    end: date
    label: str

    def months(self) -> list[date]:
        """First days of the months the period touches (visit deadlines run by month)."""
        out, month = [], visit_rules.month_start(self.start)
        while month <= self.end:
            out.append(month)
            month = visit_rules.next_month(month)
        return out


class PeriodProblem(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_period(period: str | None, start: date | None, end: date | None) -> ReportPeriod:
    """`period=2024-03`, or `from` and `to` dates (both, at most a year); PeriodProblem if not."""
    if period is not None:
        if start is not None or end is not None:
            return _refuse("period", "period 与 from/to 只能填写一种")
        m = _MONTH.match(period.strip())
        if not m or not 1 <= int(m[2]) <= 12 or not 2000 <= int(m[1]) <= 2100:
            return _refuse("period", f"统计期间“{period}”格式应为 YYYY-MM（如 2024-03）")
        first = date(int(m[1]), int(m[2]), 1)
        return ReportPeriod(first, visit_rules.month_end(first), f"{first:%Y-%m}")
    if start is None and end is None:
        return _refuse("period", "请填写统计期间 period（如 2024-03），或起止日期 from 和 to")
    if start is None or end is None:
        return _refuse("from" if start is None else "to", "起止日期 from 和 to 须同时填写")
    if end < start:
        return _refuse("to", f"截止日期 {end} 早于起始日期 {start}")
    if (end - start).days >= MAX_DAYS:
        return _refuse("to", f"统计期间最长 {MAX_DAYS} 天（{start} 至 {end} 超出）")
    return ReportPeriod(start, end, f"{start}至{end}")


def _refuse(field: str, message: str):
    raise PeriodProblem(field, message)


def rate(done: int, due: int) -> float | None:
    return visit_rules.rate(done, due)


def add_up(rows: list[ReportRow], *, level: str, township: str | None, township_name: str | None,
           village: str | None, median: float | None) -> ReportRow:
    """A township's or the county's row: every count is the sum of its villages'; the median
    cannot be summed and comes from its own query."""
    out = ReportRow(level=level, township=township, township_name=township_name, village=village)
    for field in COUNT_FIELDS:
        setattr(out, field, sum(getattr(r, field) for r in rows))
    maxes = [r.verification_days_max for r in rows if r.verification_days_max is not None]
    out.verification_days_max = max(maxes) if maxes else None
    out.verification_days_total = sum(r.verification_days_total for r in rows)
    finish(out, median)
    out.deadlines = merge_deadlines([d for r in rows for d in r.deadlines])
    return out


def merge_deadlines(counts: list[DeadlineCounts]) -> list[DeadlineCounts]:
    """One line per kind, the counts of its lines summed, in the procedures' order."""
    kinds: dict[str, DeadlineCounts] = {}
    for d in counts:
        total = kinds.setdefault(d.kind, DeadlineCounts(kind=d.kind, kind_name=d.kind_name))
        for state in DEADLINE_STATES:
            setattr(total, state, getattr(total, state) + getattr(d, state))
    return sorted(kinds.values(), key=lambda d: kind_order(d.kind))


def finish(row: ReportRow, median: float | None) -> None:
    """The derived figures: coverage, verified, the average and median verification days."""
    row.visit_coverage = rate(row.visits_done, row.visits_due)
    row.warnings_verified = row.warnings_included + row.warnings_dismissed
    row.verification_days_avg = (round(row.verification_days_total / row.warnings_verified, 1)
                                 if row.warnings_verified else None)
    row.verification_days_median = median
    row.cases_open = sum(getattr(row, f"cases_{stage}") for stage, _ in STAGES)


# -- the spreadsheet ---------------------------------------------------------------------------

SUBTOTAL = "小计"
COUNTY_TOTAL = "全县合计"
TOTAL = "合计"  # the total of a township's or a village's own report
MAIN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("visits_due", "应走访户数"),
    ("visits_done", "已走访户数"),
    ("visit_coverage", "走访覆盖率(%)"),
    ("warnings_raised", "预警数"),
    ("warnings_verified", "已核实"),
    ("warnings_included", "其中拟纳入"),
    ("warnings_dismissed", "其中不纳入"),
    ("warnings_pending", "待核实"),
    ("warnings_overdue", "逾期未核实"),
    ("verification_days_avg", "平均核实天数"),
    ("verification_days_median", "核实天数中位数"),
    ("verification_days_max", "最长核实天数"),
    ("identifications_in_progress", "识别纳入中"),
    ("cases_open", "监测对象(未消除风险)"),
) + tuple((f"cases_{stage}", name) for stage, name in STAGES) + (
    ("anomalies_open", "数据质量问题未整改"),
    ("anomalies_explained", "数据质量问题已说明"),
)
MAIN_HEADERS = ("乡镇", "村", *(header for _, header in MAIN_COLUMNS))
DEADLINE_HEADERS = ("乡镇", "村", "期限类型", "按期完成", "逾期完成", "逾期未完成", "未到期")


def place(row: ReportRow, total: str = COUNTY_TOTAL) -> tuple[str, str]:
    if row.level == "county":
        return total, ""
    return row.township_name or row.township or "", row.village or SUBTOTAL


def main_cells(row: ReportRow, total: str = COUNTY_TOTAL) -> list:
    cells: list = list(place(row, total))
    for field, _ in MAIN_COLUMNS:
        value = getattr(row, field)
        if field == "visit_coverage" and value is not None:
            value = round(value * 100, 2)
        cells.append(value)
    return cells


def deadline_cells(row: ReportRow, total: str = COUNTY_TOTAL) -> list[list]:
    return [[*place(row, total), d.kind_name, d.met_on_time, d.met_late, d.open_overdue,
             d.open_not_due] for d in row.deadlines]
