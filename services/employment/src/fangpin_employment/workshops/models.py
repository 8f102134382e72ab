"""Employment-assistance workshops (就业帮扶车间, E3): employees over time, management class,
liaison, subsidies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen
from fangpin_employment.base import Base

ManagementClass = Literal["升级", "扶持", "新建", "调整"]
WorkshopModel = Literal["企业+就业帮扶车间", "联合体+就业帮扶车间", "其他"]
SubsidyKind = Literal["一次性建设补助", "吸纳就业社保补贴", "带动就业补贴", "其他"]


class Workshop(Base, table=True):
    __tablename__ = "workshops"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    township: str = Field(index=True, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    operator: str = Field(max_length=100)  # the enterprise or cooperative running it
    model: str = Field(max_length=20)
    management_class: str = Field(max_length=4)
    class_since: date
    liaison_name: str = Field(max_length=50)  # 就业帮扶车间专员
    liaison_unit: str | None = Field(default=None, max_length=64)
    pilot: bool = False  # the plan's "at least one new pilot workshop"
    established_on: date
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class WorkshopEmployee(Base, table=True):
    __tablename__ = "workshop_employees"
    __table_args__ = (Index("ix_workshop_employees_workshop", "workshop_id", "start_on"),)

    id: str = Field(primary_key=True, max_length=36)
    workshop_id: str = Field(max_length=36)
    labourer_id: str = Field(index=True, max_length=64)
    poverty: bool  # a 脱贫 (incl. monitored) labourer when hired
    start_on: date
    end_on: date | None = None


class WorkshopSubsidy(Base, table=True):
    __tablename__ = "workshop_subsidies"

    id: str = Field(primary_key=True, max_length=36)
    workshop_id: str = Field(index=True, max_length=36)
    kind: str = Field(max_length=20)
    amount_fen: int = Field(sa_type=BigInteger)
    granted_on: date
    note: str | None = Field(default=None, max_length=200)


class WorkshopCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    township: str = Field(max_length=32)
    village: str | None = Field(default=None, max_length=64)
    operator: str = Field(min_length=1, max_length=100)
    model: WorkshopModel = "其他"
    management_class: ManagementClass = "新建"
    liaison_name: str = Field(min_length=1, max_length=50)
    liaison_unit: str | None = Field(default=None, max_length=64)
    pilot: bool = False
    established_on: Day


class WorkshopUpdate(SQLModel):
    management_class: ManagementClass | None = None
    liaison_name: str | None = Field(default=None, min_length=1, max_length=50)
    liaison_unit: str | None = Field(default=None, max_length=64)
    on: Day | None = None


class EmployeeAdd(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    start_on: Day


class EmployeeLeave(SQLModel):
    end_on: Day


class SubsidyAdd(SQLModel):
    kind: SubsidyKind
    amount_fen: Fen = Field(gt=0)
    granted_on: Day
    note: str | None = Field(default=None, max_length=200)


class WorkshopRead(SQLModel):
    id: str
    name: str
    township: str
    village: str | None
    operator: str
    model: str
    management_class: str
    class_since: date
    liaison_name: str
    liaison_unit: str | None
    pilot: bool
    established_on: date
    poverty_employees: int
    employees: int
    subsidies_fen: int
