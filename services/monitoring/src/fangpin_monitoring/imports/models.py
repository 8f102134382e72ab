"""What an import reports back."""

from __future__ import annotations

from sqlmodel import SQLModel


class RowErrorRead(SQLModel):
    row: int
    column: str  # spreadsheet letter, e.g. "M"
    header: str  # the template header, e.g. "身份证号"
    household_key: str | None
    type: str
    msg: str


class ImportReport(SQLModel):
    format: str
    valid_only: bool
    rows: int  # data rows read (blank rows not counted)
    households: int  # household keys in the file
    created: int
    updated: int
    members: int  # members stored
    skipped_households: int
    skipped_keys: list[str]  # the first of them
    error_count: int
    errors: list[RowErrorRead]  # the first of them, by row and column
    ignored_columns: list[str]
