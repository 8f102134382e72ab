"""Pure rules of quarterly sharing (E6)."""

from __future__ import annotations

from datetime import date

from fangpin_employment.workinfo.rules import previous_quarter, quarter_bounds, quarter_of

WORK_COLUMNS = ("乡(镇)", "村(安置点)", "劳动力编号", "姓名", "年份", "季度", "务工地点类型",
                "务工地点", "务工时长(月)", "工资收入(元)", "用工单位", "核实日期")
GROUP_COLUMNS = ("乡(镇)", "村(安置点)", "劳动力编号", "姓名", "重点群体", "纳入日期",
                 "帮扶结果", "结果日期")


def last_quarter(today: date) -> tuple[int, int]:
    return previous_quarter(*quarter_of(today))


def share_problem(year: int, quarter: int, today: date) -> str | None:
    """Only a finished quarter is shared (in the first month of the next, by the plan)."""
    if quarter_bounds(year, quarter)[1] >= today:
        return f"{year}年第{quarter}季度尚未结束，不能共享"
    return None


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"
