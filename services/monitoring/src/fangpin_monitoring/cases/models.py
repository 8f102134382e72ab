"""Monitoring cases (监测对象) and their helpers (帮扶责任人)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, get_args

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from fangpin_common.bounded_lists import at_most
from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_monitoring.base import Base
from fangpin_monitoring.households.models import Subcategory

RiskType = Literal["因病", "因残", "因学", "因灾", "因意外事故", "因产业项目失败",
                   "因务工就业不稳", "缺劳动力", "住房安全", "饮水安全", "其他"]
# Each risk type once at most: a longer list is a mistake (or an abuse), refused up front.
RiskTypes = Annotated[list[RiskType], at_most(len(get_args(RiskType)), "风险类型")]
CaseStatus = Literal["open", "eliminated"]


class Case(Base, table=True):
    __tablename__ = "cases"

    id: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    township: str = Field(index=True, max_length=32)
    village: str = Field(max_length=64)
    category: str = Field(max_length=20)
    risk_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    inclusion_date: date
    status: str = Field(default="open", max_length=16)
    previous_case_id: str | None = Field(default=None, max_length=64)
    # The case row's revision (ETag): moves on when its own fields change (elimination).
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Helper(Base, table=True):
    __tablename__ = "case_helpers"

    id: str = Field(primary_key=True, max_length=64)
    case_id: str = Field(foreign_key="cases.id", index=True, max_length=64)
    name: str = Field(max_length=50)
    unit: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=20)
    assigned_on: date
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class CaseCreate(SQLModel):
    household_id: str = Field(min_length=1, max_length=64)
    inclusion_date: Day = Field(description="县级确认纳入日期")
    category: Subcategory
    risk_types: RiskTypes = Field(min_length=1)


class HelperAssign(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    unit: str | None = Field(default=None, max_length=64, description="帮扶单位代码")
    phone: str | None = Field(default=None, max_length=20)
    assigned_on: Day | None = Field(default=None, description="默认为今天")


class HelperRead(SQLModel):
    id: str
    name: str
    unit: str | None
    phone: str | None
    assigned_on: date


class DeadlineRead(SQLModel):
    kind: str
    due_on: date
    state: str
    met_on: date | None


class CaseRead(SQLModel):
    id: str
    household_id: str
    township: str
    village: str
    category: str
    risk_types: list[str]
    inclusion_date: date
    status: str
    previous_case_id: str | None
    revision: int
    helpers: list[HelperRead]
    deadlines: list[DeadlineRead]
