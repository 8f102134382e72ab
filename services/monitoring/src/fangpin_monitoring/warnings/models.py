"""Warnings (预警): departmental files compared against members, and the warnings they raise."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_monitoring.base import Base
from fangpin_monitoring.cases.models import RiskType, RiskTypes
from fangpin_monitoring.households.models import Subcategory

ClueSource = Literal["入户走访", "自主申报", "网格排查", "其他"]


class DepartmentUpload(Base, table=True):
    """One monthly file of one kind, and what came of it."""

    __tablename__ = "department_uploads"
    __table_args__ = (UniqueConstraint("kind", "period", "sha256"),)

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(index=True, max_length=64)
    department: str = Field(max_length=64)
    period: str = Field(max_length=7)
    filename: str = Field(max_length=200)
    file_format: str = Field(max_length=8)
    sha256: str = Field(max_length=64)
    uploaded_by: str = Field(max_length=100)
    uploaded_on: date
    rows_total: int = 0
    rows_invalid: int = 0
    rows_unmatched: int = 0
    rows_matched: int = 0
    rows_already_open: int = 0
    warnings_raised: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class DepartmentRow(Base, table=True):
    """A row of an uploaded file: kept for the report and the outside-the-system list (M7)."""

    __tablename__ = "department_rows"
    __table_args__ = (
        UniqueConstraint("upload_id", "row_no"),
        Index("ix_department_rows_upload_household", "upload_id", "household_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    upload_id: str = Field(foreign_key="department_uploads.id", max_length=36)
    row_no: int
    id_number: str | None = Field(default=None, max_length=18)
    name: str | None = Field(default=None, max_length=50)
    township: str | None = Field(default=None, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    problem_column: str | None = Field(default=None, max_length=100)
    member_id: str | None = Field(default=None, max_length=64)
    household_id: str | None = Field(default=None, max_length=64)
    matched_households: int = 0
    warning_id: str | None = Field(default=None, max_length=36)


class RiskWarning(Base, table=True):
    """raised → verified by the township: dismissed, or included (identification starts).

    `is_open` is true while raised and while the identification it started runs; a second
    warning with the same `dedupe_key` is not raised while one is open.
    """

    __tablename__ = "warnings"
    __table_args__ = (
        # Spelled as the queries spell it, so that SQLite uses the partial index for them.
        Index("ix_warnings_open_key", "dedupe_key", unique=True,
              sqlite_where=text("is_open = 1"), postgresql_where=text("is_open = true")),
        Index("ix_warnings_township_status", "township", "status"),
    )

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=64)
    source: str = Field(max_length=20)
    upload_id: str | None = Field(default=None, index=True, max_length=36)
    row_no: int | None = None
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    member_id: str | None = Field(default=None, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    risk_type: str = Field(max_length=20)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="raised", max_length=16)
    is_open: bool = True
    dedupe_key: str = Field(max_length=140)
    raised_on: date
    verify_due_on: date
    verified_on: date | None = None
    verified_by: str | None = Field(default=None, max_length=100)
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    identification_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class WarningVerify(SQLModel):
    decision: Literal["include", "dismiss"] = Field(
        description="include 拟纳入 / dismiss 核实不纳入")
    reason: str | None = Field(default=None, max_length=500, description="核实情况；不纳入时必填")
    verified_on: Day | None = Field(default=None, description="默认为今天")
    category: Subcategory | None = Field(default=None, description="拟纳入的监测对象类别")
    risk_types: RiskTypes | None = Field(default=None, min_length=1,
                                              description="默认为预警的风险类型")


class ClueCreate(SQLModel):
    """A risk clue found on a visit or reported by the household (not a department file)."""

    household_id: str = Field(min_length=1, max_length=64)
    member_id: str | None = Field(default=None, max_length=64)
    source: ClueSource
    risk_type: RiskType
    reason: str = Field(min_length=2, max_length=500)


class WarningRead(SQLModel):
    id: str
    kind: str
    kind_name: str
    source: str
    upload_id: str | None
    row_no: int | None
    household_id: str
    member_id: str | None
    township: str
    village: str
    risk_type: str
    reason: str
    status: str
    is_open: bool
    raised_on: date
    verify_due_on: date
    verified_on: date | None
    verified_by: str | None
    decision_reason: str | None
    identification_id: str | None


class RowIssue(SQLModel):
    row: int
    column: str | None
    message: str
    id_number: str | None = None
    name: str | None = None


class UploadReport(SQLModel):
    id: str
    kind: str
    kind_name: str
    department: str
    period: str
    filename: str
    file_format: str
    uploaded_on: date
    rows_total: int
    rows_invalid: int
    rows_unmatched: int
    rows_matched: int
    rows_already_open: int
    warnings_raised: int
    invalid: list[RowIssue]
    unmatched: list[RowIssue]
    issues_truncated: bool


class OutsideSystemRow(SQLModel):
    """A low-income person of civil affairs whose household is not monitored (M7)."""

    kind: str
    kind_name: str
    period: str
    upload_id: str
    row: int
    name: str | None
    id_number: str | None
    township: str | None
    village: str | None
    household_id: str | None
    household_category: str | None
    status: str  # 未登记农户 | 未纳入监测 | 识别中
    identification_id: str | None


class KindColumnRead(SQLModel):
    key: str
    header: str
    aliases: list[str]
    type: str
    required: bool


class KindRead(SQLModel):
    code: str
    name: str
    department: str
    match: str
    dedupe: str
    risk_type: str
    reason: str
    outside_system: bool
    columns: list[KindColumnRead]
