"""Reading uploaded spreadsheets row by row (CSV or XLSX), and writing the blank template.

Both readers stream: a CSV is decoded as it is read, an XLSX is opened read-only (openpyxl
parses the sheet as it goes), so a 100,000-row file needs memory for a row, not the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator
from typing import IO, Any

from fangpin_common.county import County
from fangpin_monitoring.imports.rules import COLUMNS, YES, column_letter

SNIFF_BYTES = 64 * 1024
DATA_SHEET = "农户成员"
GUIDE_SHEET = "填写说明"


class FileProblem(ValueError):
    """A file that cannot be read as a household list at all (Chinese reason)."""


def detect_format(file: IO[bytes], filename: str | None) -> str:
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    name = (filename or "").lower()
    if not head.strip():
        raise FileProblem("文件为空")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV 后上传")
    if name.endswith((".xlsx", ".xlsm")):
        raise FileProblem("文件扩展名为 .xlsx，但内容不是有效的 XLSX 文件")
    if b"\x00" in head:
        raise FileProblem("文件不是 CSV 或 XLSX（请上传导入模板格式的 .xlsx 或 .csv 文件）")
    encoding_of(head)
    return "csv"


def encoding_of(head: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (what Excel saves on Chinese Windows)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8-sig"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise FileProblem("文件不是 CSV 或 XLSX：无法按 UTF-8 或 GBK 编码读取文本") from None


def rows(file: IO[bytes], fmt: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number as the spreadsheet shows it, cell values) for every row, header included."""
    if fmt == "xlsx":
        yield from _xlsx_rows(file)
    else:
        yield from _csv_rows(file)


def _csv_rows(file: IO[bytes]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    text = io.TextIOWrapper(file, encoding=encoding_of(head), newline="")
    number = 0
    try:
        # A record is one spreadsheet row even when a quoted cell holds a line break.
        for number, record in enumerate(csv.reader(text), start=1):
            yield number, tuple(record)
    except UnicodeDecodeError as exc:
        raise FileProblem(f"文件编码错误：第 {number + 1} 行附近有无法识别的字符") from exc
    except csv.Error as exc:
        raise FileProblem(f"CSV 格式错误（第 {number + 1} 行附近）：{exc}") from exc
    finally:
        text.detach()


def _xlsx_rows(file: IO[bytes]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"文件不是有效的 XLSX 文件（{type(exc).__name__}）") from exc
    except Exception as exc:  # openpyxl's InvalidFileException and friends
        raise FileProblem(f"文件不是有效的 XLSX 文件（{exc}）") from exc
    try:
        sheet = (workbook[DATA_SHEET] if DATA_SHEET in workbook.sheetnames
                 else workbook.worksheets[0])
        # Dimensions written by some tools are wrong; read what is there.
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, tuple(values)
    finally:
        workbook.close()


def template_csv() -> bytes:
    """The header row, UTF-8 with a BOM so that Excel shows the Chinese headers."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow([c.header for c in COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def template_xlsx(county: County, max_rows: int = 20000) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = DATA_SHEET
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    for index, column in enumerate(COLUMNS):
        letter = column_letter(index)
        cell = sheet.cell(row=1, column=index + 1, value=column.header)
        cell.font = Font(bold=True)
        if column.required:
            cell.fill = required_fill
        sheet.column_dimensions[letter].width = column.width
        if column.kind == "id" or column.field in ("phone", "key"):
            # Text, so that 18-digit ID numbers and phone numbers keep every digit.
            sheet.column_dimensions[letter].number_format = "@"
        choices = column.choices
        if column.field == "township":
            choices = tuple(t.name for t in county.townships)
        if choices:
            validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                        allow_blank=not column.required)
            # Strict lists refuse other input in Excel; 与户主关系 only suggests.
            validation.showErrorMessage = column.field != "relation"
            validation.error = "请从下拉列表中选择"
            validation.add(f"{letter}2:{letter}{max_rows + 1}")
            sheet.add_data_validation(validation)
    sheet.freeze_panes = "A2"

    guide = workbook.create_sheet(GUIDE_SHEET)
    guide.append(["列", "表头", "必填", "说明或可选值"])
    for cell in guide[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(COLUMNS):
        choices = column.choices
        if column.field == "township":
            choices = tuple(t.name for t in county.townships)
        text = column.note
        if choices and column.kind != "bool":
            text = (text + "；" if text else "") + "可选：" + "、".join(choices)
        if column.kind == "bool":
            text = (text + "；" if text else "") + f"填“{YES}”或“否”，不填视为“否”"
        guide.append([column_letter(index), column.header, "是" if column.required else "否", text])
    guide.append([])
    guide.append(["", "说明", "",
                  "每行填写一名家庭成员；同一户的成员户编号相同，户级信息（乡镇至受灾户）"
                  "可只在该户第一行填写，其他行留空或填写相同内容。文件有错误时不导入任何数据，"
                  "并列出每处错误的行号和列；也可选择只导入无错误的农户。"])
    guide.column_dimensions["B"].width = 16
    guide.column_dimensions["D"].width = 90
    for row in guide.iter_rows(min_row=2):
        row[3].alignment = Alignment(wrap_text=True)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
