"""The target progress as a spreadsheet, with the headers county staff use."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from fangpin_common.export import to_bytes
from fangpin_industry.targets.models import TargetProgress

HEADERS = ("序号", "指标", "计量单位", "目标值", "完成值", "完成率(%)", "是否达标", "牵头单位",
           "责任单位", "已报送单位", "未报送单位数", "方案条款")
WIDTHS = (6, 28, 10, 14, 14, 12, 10, 18, 40, 40, 12, 12)


def progress_workbook(rows: list[TargetProgress], title: str) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "指标进度"
    ws.append([title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(list(HEADERS))
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", wrap_text=True)
    for i, p in enumerate(rows, start=1):
        # Decimals go in as Decimal: the cell keeps the exact figure.
        ws.append([
            i, p.name, p.unit, p.target, p.achieved, p.percent,
            "是" if p.met else "否", p.lead.name, "、".join(u.name for u in p.responsible),
            "；".join(f"{f.unit_name} {f.period}：{f.value}" for f in p.reported),
            len(p.not_reported), p.clause or "",
        ])
    for column, width in zip("ABCDEFGHIJKL", WIDTHS, strict=True):
        ws.column_dimensions[column].width = width
    ws.freeze_panes = "A3"
    return to_bytes(wb)
