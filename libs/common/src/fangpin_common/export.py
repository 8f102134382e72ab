"""Files county staff open: XLSX (the plan's layout) and CSV, built in memory (every service)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


def file_responses(*media_types: str) -> dict:
    """The `responses` of a route that answers with a file (as well as JSON, if it has a
    response model): the OpenAPI document then names the file's media type."""
    return {200: {"content": {m: {"schema": {"type": "string", "format": "binary"}}
                              for m in media_types}}}


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def _cell(value):
    # Control characters (from a query filter in a title, or a stored free-text field) are
    # not allowed in XLSX; openpyxl raises on them.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _styled(ws, value, *, bold=False, size=11, center=False, border=False):
    cell = WriteOnlyCell(ws, value=_cell(value))
    if bold or size != 11:
        cell.font = Font(bold=bold, size=size)
    if center:
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    if border:
        cell.border = _BOX
    return cell


def add_table_sheet(wb: Workbook, sheet: str, title: str, columns: Sequence[str],
                    rows: Sequence[Sequence], footer: Sequence[str] = (),
                    widths: Sequence[int] | None = None) -> None:
    """Title row (merged over the columns), the header row, one row per record, a footer."""
    ws = wb.create_sheet(sheet[:31])
    for i, width in enumerate(widths or [14] * len(columns), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.merged_cells.ranges.add(f"A1:{get_column_letter(len(columns))}1")
    ws.append([_styled(ws, title, bold=True, size=16, center=True)])
    ws.append([_styled(ws, c, bold=True, center=True, border=True) for c in columns])
    for row in rows:
        ws.append([_cell(v) for v in row])
    if footer:
        ws.append([])
        ws.append([_cell(v) for v in footer])


def workbook() -> Workbook:
    return Workbook(write_only=True)


def to_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(columns: Sequence[str], rows: Sequence[Sequence]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    # A BOM so that Excel on a county office PC opens the UTF-8 file as Chinese text.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def file_response(content: bytes, media_type: str, filename: str) -> Response:
    from urllib.parse import quote

    return Response(content, media_type=media_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
