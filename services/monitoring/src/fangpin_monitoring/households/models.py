"""Households and members: tables and their Create / Update / Read schemas."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import field_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.bounded_lists import at_most
from fangpin_common.db import UTCDateTime
from fangpin_common.types import BirthDate, Revision
from fangpin_monitoring.base import Base
from fangpin_monitoring.households import rules

# Members per household. A registered rural household (户籍户) has 3–4 people on average and
# rarely more than 10; 30 leaves room for any real extended family while a list of hundreds
# (a mistaken paste, an abusive request) is refused before its members are read.
MAX_MEMBERS = 30

Category = Literal["脱贫户", "监测户", "一般农户"]
Subcategory = Literal["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]
LabourCapacity = Literal["普通劳动力", "弱劳力", "半劳力", "无劳动力"]
Sex = Literal["男", "女"]
Health = Literal["健康", "长期慢性病", "患有大病", "残疾"]


class KeyGroupFlags(SQLModel):
    relocation_site: bool = False  # 易地搬迁安置
    whole_household_dibao: bool = False  # 整户低保
    dangerous_house_renovation: bool = False  # 危改户
    disaster_hit: bool = False  # 受灾


class HouseholdFields(KeyGroupFlags):
    township: str = Field(max_length=32, description="乡镇代码或名称")
    village: str = Field(min_length=1, max_length=64, description="村（社区）代码")
    category: Category
    monitoring_subcategory: Subcategory | None = None
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)

    @field_validator("phone", mode="before")
    @classmethod
    def _ascii_phone(cls, value: object) -> object:
        return rules.normalise_digits(value) if isinstance(value, str) else value


class Household(KeyGroupFlags, Base, table=True):
    __tablename__ = "households"
    __table_args__ = (Index("ix_households_township_village", "township", "village"),)

    id: str = Field(primary_key=True, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    category: str = Field(max_length=20)
    monitoring_subcategory: str | None = Field(default=None, max_length=20)
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=20)
    head_name: str = Field(max_length=50)
    revision: int = 1
    platform_id: str | None = Field(default=None, max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class MemberFields(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    id_number: str = Field(min_length=18, max_length=18, description="18位居民身份证号")
    sex: Sex
    birth_date: BirthDate
    relation: str = Field(max_length=20, description="与户主关系")
    labour_capacity: LabourCapacity
    in_school: bool = False
    health: Health = "健康"
    phone: str | None = Field(default=None, max_length=20)
    deceased: bool = False

    @field_validator("id_number", mode="before")
    @classmethod
    def _normalised(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        value = rules.normalise_id_number(value)
        if problem := rules.first_generation_problem(value):
            raise PydanticCustomError("first_generation_id", problem)
        return value

    @field_validator("phone", mode="before")
    @classmethod
    def _ascii_phone(cls, value: object) -> object:
        return rules.normalise_digits(value) if isinstance(value, str) else value


class Member(Base, table=True):
    __tablename__ = "members"

    id: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    name: str = Field(max_length=50)
    id_number: str = Field(max_length=18, unique=True)
    sex: str = Field(max_length=2)
    birth_date: date
    relation: str = Field(max_length=20)
    labour_capacity: str = Field(max_length=10)
    in_school: bool = False
    health: str = Field(default="健康", max_length=10)
    phone: str | None = Field(default=None, max_length=20)
    deceased: bool = False


class MemberCreate(MemberFields):
    pass


Members = Annotated[list[MemberCreate], at_most(MAX_MEMBERS, "家庭成员")]


class HouseholdCreate(HouseholdFields):
    members: Members = Field(min_length=1, max_length=MAX_MEMBERS)


class MemberUpdate(MemberCreate):
    id: str | None = Field(default=None, max_length=64,
                           description="成员编号（读取时返回）；不填时按身份证号对应")


class HouseholdUpdate(KeyGroupFlags):
    """A full replacement of the household's facts (members included). Masked ID numbers and
    phones sent back as read are kept as stored; township omitted: unchanged."""

    township: str | None = Field(default=None, max_length=32, description="乡镇代码或名称")
    village: str = Field(min_length=1, max_length=64)
    category: Category
    monitoring_subcategory: Subcategory | None = None
    address: str | None = None
    phone: str | None = None
    _ascii_phone = field_validator("phone", mode="before")(
        lambda value: rules.normalise_digits(value) if isinstance(value, str) else value)
    members: Annotated[list[MemberUpdate], at_most(MAX_MEMBERS, "家庭成员")] = Field(
        min_length=1, max_length=MAX_MEMBERS)
    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")

    @field_validator("members")
    @classmethod
    def _distinct_ids(cls, members: list[MemberUpdate]) -> list[MemberUpdate]:
        ids = [m.id for m in members if m.id]
        if len(set(ids)) != len(ids):
            raise ValueError("成员编号（id）重复")
        return members


class MemberRead(SQLModel):
    id: str
    name: str
    id_number: str | None
    sex: str
    birth_date: date
    relation: str
    labour_capacity: str
    in_school: bool
    health: str
    phone: str | None
    deceased: bool


class HouseholdRead(KeyGroupFlags):
    id: str
    township: str
    village: str
    category: str
    monitoring_subcategory: str | None
    head_name: str
    address: str | None
    phone: str | None
    revision: int
    members: list[MemberRead]
    created_at: datetime
    updated_at: datetime
