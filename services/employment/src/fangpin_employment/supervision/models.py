"""Supervision (E13): unannounced checks per township, findings and their rectification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_employment.base import Base

Severity = Literal["一般", "较重", "突出"]


class Check(Base, table=True):
    __tablename__ = "supervision_checks"
    __table_args__ = (Index("ix_supervision_checks_township_on", "township", "checked_on"),)

    id: str = Field(primary_key=True, max_length=36)
    township: str = Field(max_length=32)
    checked_on: date
    unannounced: bool = True  # 暗访
    inspectors: list = Field(sa_column=Column(JSON, nullable=False))
    scope: str = Field(max_length=200)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Finding(Base, table=True):
    __tablename__ = "supervision_findings"

    id: str = Field(primary_key=True, max_length=36)
    check_id: str = Field(index=True, max_length=36)
    township: str = Field(index=True, max_length=32)
    issue: str = Field(max_length=500)
    severity: str = Field(max_length=4)
    # 后盾单位 the notice is forwarded to when the problem is serious.
    notify_units: list = Field(sa_column=Column(JSON, nullable=False))
    rectify_by: date | None = None
    rectified_on: date | None = None
    rectification: str | None = Field(default=None, max_length=500)


class FindingIn(SQLModel):
    issue: str = Field(min_length=1, max_length=500)
    severity: Severity = "一般"
    notify_units: list[str] = Field(default_factory=list)
    rectify_by: Day | None = None


class CheckCreate(SQLModel):
    township: str = Field(max_length=32)
    checked_on: Day
    unannounced: bool = True
    inspectors: list[str] = Field(min_length=1)
    scope: str = Field(default="脱贫人口就业帮扶工作", max_length=200)
    findings: list[FindingIn] = Field(default_factory=list)


class Rectified(SQLModel):
    rectified_on: Day
    rectification: str = Field(min_length=1, max_length=500)


class FindingRead(SQLModel):
    id: str
    check_id: str
    township: str
    issue: str
    severity: str
    notify_units: list
    rectify_by: date | None
    rectified_on: date | None
    rectification: str | None


class CheckRead(SQLModel):
    id: str
    township: str
    checked_on: date
    unannounced: bool
    inspectors: list
    scope: str
    findings: list[FindingRead]


class TownshipSummary(SQLModel):
    township: str
    township_name: str
    checks: int
    unannounced: int
    findings: int
    serious_findings: int
    open_findings: int


class QuarterSummary(SQLModel):
    year: int
    quarter: int
    checks: int
    unannounced_checks: int
    planned: str  # the plan's 2–3 checks a quarter
    meets_plan: bool
    townships: list[TownshipSummary]
