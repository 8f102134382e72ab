"""Reading a department's monthly file (CSV, XLSX or JSON) into checked rows.

Pure functions: bytes in, rows out. A file that cannot be read as a table of the kind's columns
is refused whole (FileProblem → 422 naming the row and column); a row whose values are wrong is
kept as an invalid row with its row and column numbers, for the import report.
Row numbers are what staff see: in CSV and XLSX the header is row 1; in JSON the n-th record.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from fangpin_common.county import County
from fangpin_monitoring.households.rules import normalise_id_number, resident_id_problem
from fangpin_monitoring.warnings.kinds import Column, WarningKind

FORMATS = ("csv", "xlsx", "json")
MAX_ROWS = 300_000


class FileProblem(Exception):
    """The file as a whole cannot be imported. `loc` is the path after "file"."""

    def __init__(self, loc: list[Any], message: str, code: str = "invalid_file") -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.code = code


@dataclass
class ParsedRow:
    row_no: int
    values: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    problem_column: str | None = None


@dataclass
class ParsedFile:
    file_format: str
    rows: list[ParsedRow]

    @property
    def invalid(self) -> list[ParsedRow]:
        return [r for r in self.rows if r.problem]


def detect_format(filename: str | None, declared: str | None) -> str:
    if declared:
        value = declared.lower().lstrip(".")
        if value not in FORMATS:
            raise FileProblem([], f"不支持的文件格式 {declared}（应为 csv、xlsx 或 json）",
                              "unsupported_format")
        return value
    suffix = (filename or "").rsplit(".", 1)[-1].lower() if "." in (filename or "") else ""
    if suffix not in FORMATS:
        raise FileProblem([], f"无法从文件名 {filename!r} 判断格式："
                              "请上传 .csv、.xlsx 或 .json 文件", "unsupported_format")
    return suffix


def _norm_header(value: Any) -> str:
    text = "" if value is None else str(value)
    return re.sub(r"\s+", "", text).replace("(", "（").replace(")", "）")


def _decode(content: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem([], "文件编码无法识别（应为 UTF-8 或 GBK）", "bad_encoding")


def _table_rows(content: bytes, file_format: str) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
    """(header cells, [(row number, cells)]) of a CSV or XLSX file; blank lines skipped."""
    if file_format == "csv":
        reader = csv.reader(io.StringIO(_decode(content)))
        lines = [(n, row) for n, row in enumerate(reader, start=1)]
    else:
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 (openpyxl raises many kinds)
            raise FileProblem([], f"无法读取 Excel 文件：{type(exc).__name__}", "bad_xlsx") from exc
        sheet = book.worksheets[0]
        lines = [(n, list(row)) for n, row in enumerate(sheet.iter_rows(values_only=True),
                                                         start=1)]
        book.close()
    lines = [(n, row) for n, row in lines
             if any(cell not in (None, "") and str(cell).strip() for cell in row)]
    if not lines:
        raise FileProblem([], "文件是空的：没有表头和数据行", "empty_file")
    (_, header), data = lines[0], lines[1:]
    return header, data


def _map_header(kind: WarningKind, header: list[Any], header_row: int) -> dict[int, Column]:
    """Column index → kind column; required columns must be present, each only once."""
    by_name: dict[str, Column] = {}
    for column in kind.all_columns():
        for name in (column.header, *column.aliases):
            by_name[_norm_header(name)] = column
    found: dict[int, Column] = {}
    seen: dict[str, int] = {}
    for index, cell in enumerate(header):
        column = by_name.get(_norm_header(cell))
        if column is None:
            continue  # departments may add their own columns
        if column.key in seen:
            raise FileProblem([header_row, index + 1],
                              f"第{header_row}行第{index + 1}列“{cell}”"
                              f"与第{seen[column.key] + 1}列重复",
                              "duplicate_column")
        seen[column.key] = index
        found[index] = column
    required = [c.header for c in kind.all_columns() if c.required]
    missing = [c.header for c in kind.all_columns() if c.required and c.key not in seen]
    if missing:
        raise FileProblem([header_row, missing[0]],
                          f"第{header_row}行（表头）缺少必填列：{'、'.join(missing)}"
                          f"（{kind.name}文件应含 {'、'.join(required)}）", "missing_column")
    return found


def parse_file(kind: WarningKind, content: bytes, file_format: str, county: County,
               today: date) -> ParsedFile:
    if not content:
        raise FileProblem([], "文件是空的", "empty_file")
    rows: list[ParsedRow] = []
    if file_format == "json":
        try:
            records = json.loads(_decode(content))
        except json.JSONDecodeError as exc:
            raise FileProblem([exc.lineno, exc.colno],
                              f"JSON 格式错误：第{exc.lineno}行第{exc.colno}列 {exc.msg}",
                              "json_invalid") from exc
        if isinstance(records, dict) and isinstance(records.get("rows"), list):
            records = records["rows"]
        if not isinstance(records, list):
            raise FileProblem([], "JSON 文件应为记录数组（[{\"身份证号\": …}, …]）", "not_a_list")
        if not records:
            raise FileProblem([], "文件没有数据行", "empty_file")
        if len(records) > MAX_ROWS:
            raise FileProblem([], f"文件行数 {len(records)} 超过上限 {MAX_ROWS}", "too_many_rows")
        keys: list[str] = []
        for i, record in enumerate(records, start=1):
            if not isinstance(record, dict):
                raise FileProblem([i], f"第{i}条记录不是对象（应为 {{\"身份证号\": …}}）",
                                  "not_an_object")
            keys.extend(k for k in record if k not in keys)
        columns = _map_header(kind, keys, 1)
        by_key = {keys[i]: c for i, c in columns.items()}
        for i, record in enumerate(records, start=1):
            cells = [(name, record.get(name)) for name, _ in by_key.items()]
            rows.append(_check_row(i, [(by_key[name], f"字段“{name}”", value)
                                       for name, value in cells], county, today))
        return ParsedFile(file_format, rows)

    header, data = _table_rows(content, file_format)
    if not data:
        raise FileProblem([], "文件只有表头，没有数据行", "empty_file")
    if len(data) > MAX_ROWS:
        raise FileProblem([], f"文件行数 {len(data)} 超过上限 {MAX_ROWS}", "too_many_rows")
    header_row = 1
    columns = _map_header(kind, header, header_row)
    for row_no, cells in data:
        values = [(column, f"第{index + 1}列（{column.header}）",
                   cells[index] if index < len(cells) else None)
                  for index, column in columns.items()]
        rows.append(_check_row(row_no, values, county, today))
    return ParsedFile(file_format, rows)


def _check_row(row_no: int, cells: list[tuple[Column, str, Any]], county: County,
               today: date) -> ParsedRow:
    row = ParsedRow(row_no)
    for column, where, raw in cells:
        try:
            value = convert(column, raw, county, today)
        except ValueError as exc:
            if row.problem is None:
                row.problem = f"第{row_no}行{where}：{exc}"
                row.problem_column = where
            continue
        if value is None and column.required and row.problem is None:
            row.problem = f"第{row_no}行{where}：必填，不能为空"
            row.problem_column = where
        row.values[column.key] = value
    return row


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日")


def convert(column: Column, raw: Any, county: County, today: date) -> Any:
    """The cell's value in the column's type (None for an empty cell); ValueError says why."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = column.type
    if kind == "id_number":
        if isinstance(raw, float):
            raise ValueError("身份证号被存成了数字（末位精度丢失），请将该列设为文本格式")
        value = normalise_id_number(str(raw))
        if problem := resident_id_problem(value):
            raise ValueError(problem)
        return value
    if kind == "date":
        if isinstance(raw, datetime):
            day = raw.date()
        elif isinstance(raw, date):
            day = raw
        else:
            text = str(raw).strip()
            for fmt in _DATE_FORMATS:
                try:
                    day = datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"日期“{text}”无法识别（应为 2024-04-01 这样的格式）")
        if day > today:
            raise ValueError(f"日期 {day} 晚于今天（{today}）")
        return day.isoformat()
    if kind == "amount":
        try:
            amount = Decimal(str(raw).strip().replace(",", ""))
        except InvalidOperation:
            raise ValueError(f"金额“{raw}”不是数字") from None
        if not amount.is_finite() or amount < 0:
            raise ValueError(f"金额 {raw} 应为非负数")
        if amount != amount.quantize(Decimal("0.01")):
            raise ValueError(f"金额 {raw} 最多保留两位小数（分）")
        return str(amount.quantize(Decimal("0.01")))
    text = str(raw).strip()
    if kind == "township":
        township = county.township(text)
        if township is None:
            raise ValueError(f"未知乡镇：{text}")
        return township.code
    limit = 64 if kind == "village" else 200
    if len(text) > limit:
        raise ValueError(f"内容超过{limit}个字")
    return text
