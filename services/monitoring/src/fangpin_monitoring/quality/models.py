"""Data quality (数据清洗, M10): runs, the anomalies they find, and the scheduled slots."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_monitoring.base import Base

AnomalyStatus = Literal["open", "fixed", "explained"]
STATUS_NAMES = {"open": "待整改", "fixed": "已整改", "explained": "已说明"}


class QualityRun(Base, table=True):
    """One run of the rules: who, when, and what it found."""

    __tablename__ = "quality_runs"

    id: str = Field(primary_key=True, max_length=36)
    trigger: str = Field(max_length=16)  # manual | scheduled
    slot: date | None = None  # the scheduled day it ran for
    run_by: str | None = Field(default=None, max_length=100)
    rules: list[str] = Field(sa_column=Column(JSON, nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    business_date: date
    found: int = 0  # items found by this run (explained ones included)
    new: int = 0
    still_open: int = 0
    reopened: int = 0
    fixed: int = 0
    counts_by_rule: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))
    # Open items per township after the run (the rules of this run).
    counts_by_township: dict[str, int] = Field(sa_column=Column(JSON, nullable=False))


class QualitySlot(Base, table=True):
    """A scheduled day claimed by the instance that runs it: one row, one run, ever."""

    __tablename__ = "quality_slots"

    slot: date = Field(primary_key=True)
    run_id: str | None = Field(default=None, max_length=36)
    claimed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Anomaly(Base, table=True):
    """One problem: (rule, household, member or none), kept across runs."""

    __tablename__ = "quality_anomalies"
    __table_args__ = (
        UniqueConstraint("rule_code", "household_id", "member_key"),
        Index("ix_quality_anomalies_township_status", "township", "status"),
        Index("ix_quality_anomalies_rule_status", "rule_code", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rule_code: str = Field(max_length=8)
    household_id: str = Field(max_length=64)
    member_id: str | None = Field(default=None, max_length=64)
    member_key: str = Field(default="", max_length=64)  # member_id or "" (unique with nulls)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="open", max_length=16)
    first_run_id: str = Field(max_length=36)
    first_found_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    last_run_id: str = Field(max_length=36)
    last_found_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    fixed_run_id: str | None = Field(default=None, max_length=36)
    fixed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    reopened: int = 0
    explained_by: str | None = Field(default=None, max_length=100)
    explained_at: datetime | None = Field(default=None,
                                          sa_column=Column(UTCDateTime, nullable=True))
    explanation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class QualityFound(Base, table=True):
    """What a run found, staged so that the reconciliation with anomalies is set-based.
    Emptied at the end of the run."""

    __tablename__ = "quality_found"
    __table_args__ = (Index("ix_quality_found_key", "run_id", "rule_code", "household_id",
                            "member_key"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(max_length=36)
    rule_code: str = Field(max_length=8)
    household_id: str = Field(max_length=64)
    member_id: str | None = Field(default=None, max_length=64)
    member_key: str = Field(default="", max_length=64)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RunCreate(SQLModel):
    rules: list[str] | None = Field(default=None, description="规则编号；不填则运行全部规则")


class RuleRead(SQLModel):
    code: str
    title: str
    explanation: str
    level: str
    level_name: str


class RunRead(SQLModel):
    id: str
    trigger: str
    slot: date | None
    run_by: str | None
    rules: list[str]
    started_at: datetime
    finished_at: datetime
    business_date: date
    found: int
    new: int
    still_open: int
    reopened: int
    fixed: int
    counts_by_rule: dict[str, int]
    counts_by_township: dict[str, int]


class ExplainBody(SQLModel):
    reason: str = Field(max_length=1000, description="不属于问题或无法整改的情况说明")


class AnomalyRead(SQLModel):
    id: int
    rule_code: str
    rule_title: str
    level: str
    township: str
    township_name: str | None
    village: str
    household_id: str
    head_name: str | None
    member_id: str | None
    member_name: str | None
    id_number: str | None
    detail: str | None
    status: str
    status_name: str
    first_found_at: datetime
    last_found_at: datetime
    fixed_at: datetime | None
    reopened: int
    explained_by: str | None
    explained_at: datetime | None
    explanation: str | None


class AnomalyPage(SQLModel):
    items: list[AnomalyRead]
    total: int
    page: int
    page_size: int
