"""Returnees (返乡回流) and the key groups (重点群体) with their assistance outcomes (E5)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_employment.base import Base

OPEN_RETURN = "state IN ('back', 'returnee')"


class Return(Base, table=True):
    """A labourer back home from work outside the county.

    back → returnee once back for more than the configured month (worker.returned_home is
    emitted exactly once, by the scanner's atomic claim), → away when they leave again.
    """

    __tablename__ = "returns"
    __table_args__ = (
        # At most one open return per labourer.
        Index("uq_returns_open_labourer", "labourer_id", unique=True,
              postgresql_where=text(OPEN_RETURN), sqlite_where=text(OPEN_RETURN)),
        Index("ix_returns_state_qualifies_on", "state", "qualifies_on"),
        Index("ix_returns_township", "township"),
    )

    id: str = Field(primary_key=True, max_length=36)
    labourer_id: str = Field(max_length=64)
    household_id: str | None = Field(default=None, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    previous_location_type: str = Field(max_length=10)
    previous_place: str | None = Field(default=None, max_length=100)
    back_since: date
    qualifies_on: date
    state: str = Field(default="back", max_length=10)
    qualified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    left_on: date | None = None
    reported_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class KeyGroupMember(Base, table=True):
    __tablename__ = "key_group_members"
    __table_args__ = (
        UniqueConstraint("labourer_id", "key_group", "source_id"),
        Index("ix_key_group_members_township", "township", "key_group"),
    )

    id: str = Field(primary_key=True, max_length=36)
    labourer_id: str = Field(index=True, max_length=64)
    key_group: str = Field(max_length=20)
    # monitoring (the household is monitored), return, post (left a public-welfare post),
    # county (graduates entered here); source_id names the household / return / holding.
    source: str = Field(max_length=16)
    source_id: str = Field(max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    since: date
    ended_on: date | None = None
    graduation_year: int | None = None
    outcome: str | None = Field(default=None, max_length=20)
    outcome_on: date | None = None
    outcome_note: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


LocationAway = Literal["区内县外", "区外"]
Outcome = Literal["外出务工", "县内就业", "就业帮扶车间就业", "公益性岗位安置", "自主创业",
                  "灵活就业", "参加技能培训", "继续升学", "暂无就业意愿", "丧失劳动能力", "其他"]
GraduateGroup = Literal["脱贫户高校未就业毕业生", "“雨露计划”未就业毕业生"]


class ReturnCreate(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    back_since: Day = Field(description="回到本县的日期")
    previous_location_type: LocationAway = Field(description="此前务工地：区内县外或区外")
    previous_place: str | None = Field(default=None, max_length=100)


class ReturnLeft(SQLModel):
    left_on: Day = Field(description="再次外出的日期")


class ReturnRead(SQLModel):
    id: str
    labourer_id: str
    household_id: str | None
    township: str
    village: str
    previous_location_type: str
    previous_place: str | None
    back_since: date
    qualifies_on: date
    state: str
    qualified_at: datetime | None
    left_on: date | None


class GraduateCreate(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    key_group: GraduateGroup
    graduation_year: int = Field(ge=2000, le=2100)
    since: Day | None = None


class OutcomeSet(SQLModel):
    outcome: Outcome
    outcome_on: Day
    note: str | None = Field(default=None, max_length=200)


class KeyGroupMemberRead(SQLModel):
    id: str
    labourer_id: str
    name: str | None = None
    key_group: str
    source: str
    source_id: str
    township: str
    village: str
    since: date
    ended_on: date | None
    graduation_year: int | None
    outcome: str | None
    outcome_on: date | None
    outcome_note: str | None
