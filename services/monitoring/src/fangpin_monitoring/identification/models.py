"""Identification procedures (识别纳入) and their steps, each with who, when and its deadline."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Count, Day
from fangpin_monitoring.base import Base
from fangpin_monitoring.cases.models import DeadlineRead, RiskTypes
from fangpin_monitoring.households.models import Subcategory

Step = Literal["risk_review", "home_check", "data_comparison", "democratic_review",
               "township_review", "county_confirmation"]
Source = Literal["部门预警", "自主申报", "入户走访", "网格排查", "其他"]


class Identification(Base, table=True):
    __tablename__ = "identifications"

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    township: str = Field(index=True, max_length=32)
    village: str = Field(max_length=64)
    source: str = Field(max_length=20)
    warning_id: str | None = Field(default=None, max_length=36)
    category: str = Field(max_length=20)
    risk_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    clue: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # in_progress → confirmed | rejected; superseded when the platform includes it directly
    status: str = Field(default="in_progress", max_length=16)
    next_step: str | None = Field(default="risk_review", max_length=32)
    started_on: date
    concluded_on: date | None = None
    case_id: str | None = Field(default=None, max_length=64)
    rejected_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class IdentificationStep(Base, table=True):
    __tablename__ = "identification_steps"
    __table_args__ = (UniqueConstraint("identification_id", "step"),)

    id: str = Field(primary_key=True, max_length=36)
    identification_id: str = Field(foreign_key="identifications.id", index=True, max_length=36)
    step: str = Field(max_length=32)
    outcome: str = Field(max_length=8)
    done_on: date
    due_on: date | None = None
    late: bool = False
    actor: str = Field(max_length=100)
    actor_role: str = Field(max_length=20)
    actor_unit: str | None = Field(default=None, max_length=64)
    people: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class IdentificationCreate(SQLModel):
    household_id: str = Field(min_length=1, max_length=64)
    source: Source
    category: Subcategory = Field(description="拟纳入的监测对象类别")
    risk_types: RiskTypes = Field(min_length=1)
    clue: str | None = Field(default=None, max_length=1000, description="风险线索")


class StepRecord(SQLModel):
    step: Step
    outcome: Literal["pass", "reject"] = "pass"
    done_on: Day | None = Field(default=None, description="默认为今天")
    people: list[str] = Field(default_factory=list, max_length=20, description="办理人员")
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=1000, description="不通过的原因")
    # home check
    application_signed: bool | None = Field(default=None, description="农户已签字提交申请书")
    data_query_authorised: bool | None = Field(default=None, description="农户已签署信息查询授权书")
    # information comparison
    findings: str | None = Field(default=None, max_length=2000, description="信息比对结果")
    # democratic review and public notice
    votes_for: Count | None = Field(default=None, ge=0)
    votes_against: Count | None = Field(default=None, ge=0)
    notice_start: Day | None = None
    notice_end: Day | None = None
    objections: str | None = Field(default=None, max_length=2000, description="公示期间的异议")
    objections_resolved: bool | None = None


class StepRead(SQLModel):
    step: str
    step_name: str
    outcome: str
    done_on: date
    due_on: date | None
    late: bool
    actor: str
    actor_role: str
    actor_unit: str | None
    people: list[str]
    note: str | None
    details: dict[str, Any]


class IdentificationRead(SQLModel):
    id: str
    household_id: str
    township: str
    village: str
    source: str
    warning_id: str | None
    category: str
    risk_types: list[str]
    clue: str | None
    status: str
    next_step: str | None
    next_step_name: str | None
    started_on: date
    concluded_on: date | None
    case_id: str | None
    rejected_reason: str | None
    steps: list[StepRead]
    deadlines: list[DeadlineRead]


class PlatformInclusion(SQLModel):
    """A household the provincial platform included directly (with its inclusion date)."""

    household_id: str | None = Field(default=None, max_length=64)
    platform_household_id: str | None = Field(default=None, max_length=64,
                                              description="自治区平台的户编号")
    inclusion_date: Day
    category: Subcategory
    risk_types: RiskTypes = Field(min_length=1)


class PlatformInclusionBatch(SQLModel):
    inclusions: list[PlatformInclusion] = Field(min_length=1, max_length=5000)


class PlatformInclusionResult(SQLModel):
    index: int
    household_id: str
    case_id: str
    inclusion_date: date
    created: bool
