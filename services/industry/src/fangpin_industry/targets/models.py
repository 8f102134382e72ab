"""Progress reports on the county's production targets (the targets are configuration)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Quantity
from fangpin_industry.base import Base


class TargetReport(Base, table=True):
    __tablename__ = "target_reports"
    # One figure per target, period and unit; a later report for the same key corrects it.
    __table_args__ = (UniqueConstraint("target", "period", "unit"),)

    id: str = Field(primary_key=True, max_length=36)
    target: str = Field(max_length=40, index=True)
    period: str = Field(max_length=7)
    period_end: date
    unit: str = Field(max_length=64)
    # Decimal kept as its exact text: SQLite has no exact decimal type.
    value: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=200)
    revision: int = 1
    reported_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ReportCreate(SQLModel):
    period: str = Field(max_length=7, description="报告期：2024-03（月）、2024-Q1（季度）或 2024")
    value: Quantity = Field(max_digits=18, decimal_places=4, description="本年累计完成值")
    note: str | None = Field(default=None, max_length=200)


class ReportRead(SQLModel):
    id: str
    target: str
    period: str
    unit: str
    unit_name: str
    value: Decimal
    note: str | None
    revision: int
    reported_by: str
    updated_at: datetime


class UnitRef(SQLModel):
    code: str
    name: str


class TargetRead(SQLModel):
    code: str
    name: str
    unit: str
    target: Decimal
    measure: str
    clause: str | None
    lead: UnitRef
    responsible: list[UnitRef]


class UnitFigure(SQLModel):
    unit: str
    unit_name: str
    period: str
    value: Decimal


class TargetProgress(TargetRead):
    year: int
    achieved: Decimal | None
    percent: Decimal | None
    met: bool
    reported: list[UnitFigure]
    not_reported: list[UnitRef]
