"""Assistance plans (帮扶计划) and their measures (帮扶措施), M8."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen, Revision
from fangpin_monitoring.base import Base

MeasureType = Literal["产业帮扶", "以奖代补", "小额信贷", "技术培训", "技能培训", "就业帮扶",
                      "公益性岗位", "就业帮扶车间", "以工代赈", "消费帮扶", "雨露计划", "庭院经济",
                      "低保", "特困供养", "临时救助", "医疗救助", "慈善救助", "残疾人两项补贴",
                      "教育资助", "危房改造", "饮水安全保障", "医疗保障", "其他"]
MeasureStatus = Literal["planned", "in_progress", "completed", "cancelled"]


class AssistancePlan(Base, table=True):
    __tablename__ = "assistance_plans"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="cases.id", unique=True, max_length=64)
    filed_on: date
    filed_by: str = Field(max_length=100)
    helper_id: str | None = Field(default=None, max_length=64)
    summary: str = Field(sa_column=Column(Text, nullable=False))
    late: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Measure(Base, table=True):
    __tablename__ = "assistance_measures"

    id: str = Field(primary_key=True, max_length=36)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=64)
    plan_id: str = Field(foreign_key="assistance_plans.id", max_length=36)
    position: int = 0  # the order staff entered the measures in
    measure_type: str = Field(max_length=20)
    measure_kind: str = Field(max_length=16)
    responsible_unit: str = Field(max_length=64)
    status: str = Field(default="planned", max_length=16)
    start_on: date
    end_on: date | None = None
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    amount_fen: int | None = None
    # No lost update (fangpin_common.revisions): a change names the revision it was based on.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class MeasureCreate(SQLModel):
    measure_type: MeasureType
    responsible_unit: str = Field(min_length=1, max_length=64, description="责任单位代码（县配置）")
    status: MeasureStatus = "planned"
    start_on: Day | None = Field(default=None, description="默认为今天")
    description: str | None = Field(default=None, max_length=1000)
    amount_fen: Fen | None = Field(default=None, ge=0, description="金额（分）")


class MeasureUpdate(SQLModel):
    status: MeasureStatus | None = None
    responsible_unit: str | None = Field(default=None, min_length=1, max_length=64)
    end_on: Day | None = None
    description: str | None = Field(default=None, max_length=1000)
    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")


class PlanCreate(SQLModel):
    summary: str = Field(min_length=2, max_length=2000, description="帮扶计划")
    filed_on: Day | None = Field(default=None, description="默认为今天")
    helper_id: str | None = Field(default=None, max_length=64, description="制定计划的帮扶责任人")
    measures: list[MeasureCreate] = Field(min_length=1, max_length=50)


class MeasureRead(SQLModel):
    id: str
    measure_type: str
    measure_kind: str
    responsible_unit: str
    responsible_unit_name: str | None
    status: str
    start_on: date
    end_on: date | None
    description: str | None
    amount_fen: int | None
    revision: int


class LabourCheckRead(SQLModel):
    level: str
    level_name: str
    errors: list[str]
    warnings: list[str]


class PlanRead(SQLModel):
    id: str
    case_id: str
    filed_on: date
    helper_id: str | None
    summary: str
    late: bool
    measures: list[MeasureRead]
    labour: LabourCheckRead


class LabourViolation(SQLModel):
    case_id: str
    household_id: str
    township: str
    village: str
    head_name: str
    labour: LabourCheckRead
    active_measure_types: list[str]
    severity: Literal["error", "warning"]
