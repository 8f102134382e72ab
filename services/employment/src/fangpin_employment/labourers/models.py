"""Labourers: a read model of monitoring's households (never its API), plus county additions.

`lab_households` and the `monitoring`-sourced rows of `labourers` are rebuilt from the
FANGPIN_MONITORING stream; additions and inclusions made here (`labourer_inclusions`,
`household_helpers`, `county`-sourced labourers) are this service's own facts and survive it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import BirthDate, Day
from fangpin_employment.base import Base

Category = Literal["脱贫户", "监测户", "一般农户"]
LabourCapacity = Literal["普通劳动力", "弱劳力", "半劳力", "无劳动力"]
Sex = Literal["男", "女"]


class LabourerHousehold(Base, table=True):
    __tablename__ = "lab_households"

    id: str = Field(primary_key=True, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    category: str = Field(max_length=20)
    monitoring_subcategory: str | None = Field(default=None, max_length=20)
    # 0 while only a case.opened is known; household.upserted revisions start at 1.
    revision: int = 0
    monitored_since: date | None = None
    last_case_id: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Labourer(Base, table=True):
    __tablename__ = "labourers"
    __table_args__ = (
        Index("ix_labourers_township_active", "township", "active", "birth_date"),
        Index("ix_labourers_household_id", "household_id"),
    )

    id: str = Field(primary_key=True, max_length=64)
    source: str = Field(max_length=16)  # monitoring | county
    household_id: str | None = Field(default=None, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    name: str = Field(max_length=50)
    sex: str = Field(max_length=2)
    birth_date: date
    relation: str | None = Field(default=None, max_length=20)
    labour_capacity: str = Field(max_length=10)
    in_school: bool = False
    deceased: bool = False
    removed: bool = False
    household_category: str = Field(max_length=20)
    monitoring_subcategory: str | None = Field(default=None, max_length=20)
    # Derived from the facts above (rules.labourer_status); working age is applied on reading,
    # because it depends on the date asked about.
    active: bool = False
    inactive_reason: str | None = Field(default=None, max_length=40)
    revision: int = 0
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LabourerInclusion(Base, table=True):
    """A member of an ordinary household (一般农户) the county counts as a labourer."""

    __tablename__ = "labourer_inclusions"

    member_id: str = Field(primary_key=True, max_length=64)
    included_on: date
    included_by: str = Field(max_length=100)
    note: str | None = Field(default=None, max_length=200)


class HouseholdHelper(Base, table=True):
    """The household's helper (帮扶联系人): from monitoring's case.helper_assigned or set here."""

    __tablename__ = "household_helpers"

    household_id: str = Field(primary_key=True, max_length=64)
    helper_name: str = Field(max_length=50)
    helper_unit: str | None = Field(default=None, max_length=64)
    assigned_on: date
    source: str = Field(max_length=16)


class LabourerCreate(SQLModel):
    """Either include a known member (member_id) or add a person monitoring does not hold."""

    member_id: str | None = Field(default=None, max_length=64,
                                  description="监测系统中的成员编号（纳入一般农户劳动力）")
    township: str | None = Field(default=None, max_length=32, description="乡镇代码或名称")
    village: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, min_length=1, max_length=50)
    sex: Sex | None = None
    birth_date: BirthDate | None = None
    labour_capacity: LabourCapacity = "普通劳动力"
    household_category: Category = "一般农户"
    household_id: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=200)


class HelperSet(SQLModel):
    helper_name: str = Field(min_length=1, max_length=50)
    helper_unit: str | None = Field(default=None, max_length=64)
    assigned_on: Day | None = None


class LabourerRead(SQLModel):
    id: str
    source: str
    household_id: str | None
    township: str
    village: str
    name: str
    sex: str
    birth_date: date
    age: int
    relation: str | None
    labour_capacity: str
    household_category: str
    monitoring_subcategory: str | None
    active: bool
    inactive_reason: str | None
    working_age: bool
    revision: int


class RebuildReport(SQLModel):
    events: int
    households: int
    labourers: int
    active_labourers: int
    seconds: float


class LabourerSituation(Base, table=True):
    """What the village records about a labourer not in transfer employment (the form's
    未转移就业原因 and 备注)."""

    __tablename__ = "labourer_situations"

    labourer_id: str = Field(primary_key=True, max_length=64)
    reason: str | None = Field(default=None, max_length=20)
    remark: str | None = Field(default=None, max_length=200)
    updated_on: date
    updated_by: str = Field(max_length=100)


NotTransferredReason = Literal["照顾家庭", "身体原因", "缺乏技能", "无就业意愿", "在家务农",
                               "返乡创业", "待业求职", "其他"]


class SituationSet(SQLModel):
    reason: NotTransferredReason | None = None
    remark: str | None = Field(default=None, max_length=200)
