"""The campaign's progress as the XLSX county staff open (Chinese headers, a total row)."""

from __future__ import annotations

from openpyxl import Workbook
from openpyxl.styles import Font

from fangpin_common.export import to_bytes
from fangpin_monitoring.campaigns.models import ProgressReport

COUNTS = (("households", "核实户数"), ("assigned", "已安排包抓包核"), ("verified", "全部账实相符"),
          ("discrepancies_open", "不符待整改项数"), ("households_with_open", "有待整改项户数"),
          ("complete", "核实完成户数"), ("signed_off", "已包过户数"))


def headers(by: str) -> list[str]:
    return ["乡镇", *(["村（社区）"] if by == "village" else []), *(h for _, h in COUNTS),
            "包过率（%）"]


def _rate(done: int, of: int) -> float:
    return round(100 * done / of, 1) if of else 0.0


def progress_workbook(report: ProgressReport) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "进度"
    sheet.append([f"“包抓包核包过”信息核实专项行动进度：{report.name}（完成期限 {report.due_on}）"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append(headers(report.by))
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in [*report.rows, report.total]:
        place = [row.township_name, *([row.village or ""] if report.by == "village" else [])]
        sheet.append([*place, *(getattr(row, f) for f, _ in COUNTS),
                      _rate(row.signed_off, row.households)])
    for column in sheet.columns:
        sheet.column_dimensions[column[1].column_letter].width = 16
    return to_bytes(book)
