"""The 包抓包核包过 verification campaign (M11): campaigns, one checklist per household, and the
results of its items.

A checklist's items are the campaign's item list (copied from the county file when the campaign
is created); an item has a result row only once it is checked, so creating a campaign writes
one row per household, not one per item. The checklist keeps its counters (verified, open
discrepancies, fixed) so that progress is a plain GROUP BY.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_monitoring.base import Base

ItemStatus = Literal["pending", "verified", "discrepancy", "fixed"]
Mark = Literal["verified", "discrepancy", "fixed"]
Category = Literal["脱贫户", "监测户", "一般农户"]


class Campaign(Base, table=True):
    __tablename__ = "campaigns"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=100)
    start_on: date
    due_on: date
    townships: list[str] = Field(sa_column=Column(JSON, nullable=False))  # empty: all
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    items: list[dict] = Field(sa_column=Column(JSON, nullable=False))  # [{code, name}]
    households: int = 0
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Checklist(Base, table=True):
    """One household's checklist in a campaign; 包抓 the responsible, 包核 the verifier,
    包过 the township's sign-off."""

    __tablename__ = "campaign_checklists"
    __table_args__ = (Index("ix_campaign_checklists_place", "campaign_id", "township",
                            "village"),)

    campaign_id: str = Field(primary_key=True, foreign_key="campaigns.id", max_length=64)
    household_id: str = Field(primary_key=True, foreign_key="households.id", max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    responsible_name: str | None = Field(default=None, max_length=50)
    responsible_unit: str | None = Field(default=None, max_length=100)
    responsible_phone: str | None = Field(default=None, max_length=20)
    verifier_name: str | None = Field(default=None, max_length=50)
    verifier_unit: str | None = Field(default=None, max_length=100)
    verifier_phone: str | None = Field(default=None, max_length=20)
    assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    items_verified: int = 0
    items_open: int = 0  # discrepancies not yet fixed
    items_fixed: int = 0
    complete: bool = False
    completed_on: date | None = None
    signed_off_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    signed_off_by: str | None = Field(default=None, max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ItemResult(Base, table=True):
    __tablename__ = "campaign_item_results"

    campaign_id: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(primary_key=True, max_length=64)
    code: str = Field(primary_key=True, max_length=32)
    status: str = Field(max_length=12)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    fix: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checked_by: str = Field(max_length=100)
    checked_on: date
    fixed_on: date | None = None
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


# -- schemas -----------------------------------------------------------------------------
class CampaignCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="专项行动名称")
    start_on: Day
    due_on: Day = Field(description="完成期限")
    townships: list[str] = Field(default_factory=list,
                                 description="参与乡镇（代码或名称）；不填为全县")
    categories: list[Category] = Field(default_factory=lambda: ["脱贫户", "监测户"],
                                       min_length=1, description="核实对象的户类别")


class CampaignItemRead(SQLModel):
    code: str
    name: str


class CampaignRead(SQLModel):
    id: str
    name: str
    start_on: date
    due_on: date
    townships: list[str]
    categories: list[str]
    items: list[CampaignItemRead]
    households: int
    created_at: datetime


class Person(SQLModel):
    name: str = Field(min_length=1, max_length=50)
    unit: str = Field(min_length=1, max_length=100, description="工作单位")
    phone: str | None = Field(default=None, max_length=20)


class AssignmentCreate(SQLModel):
    """包抓 (responsible) and 包核 (verifier) for households named or whole villages."""

    household_ids: list[str] = Field(default_factory=list, max_length=5000)
    villages: list[str] = Field(default_factory=list, max_length=200)
    responsible: Person = Field(description="包抓责任人")
    verifier: Person = Field(description="包核责任人")


class AssignmentResult(SQLModel):
    assigned: int


class ItemMark(SQLModel):
    status: Mark = Field(description="verified 账实相符；discrepancy 不符（须填 note）；"
                                     "fixed 已整改（须填 fix）")
    note: str | None = Field(default=None, max_length=500, description="不符情况")
    fix: str | None = Field(default=None, max_length=500, description="整改情况")


class ItemRead(SQLModel):
    code: str
    name: str
    status: ItemStatus
    note: str | None = None
    fix: str | None = None
    checked_on: date | None = None
    fixed_on: date | None = None


class ChecklistRead(SQLModel):
    campaign_id: str
    household_id: str
    township: str
    village: str
    responsible: Person | None
    verifier: Person | None
    items_verified: int
    items_open: int
    items_fixed: int
    complete: bool
    completed_on: date | None
    signed_off: bool
    signed_off_at: datetime | None
    items: list[ItemRead] | None = None


class ProgressRow(SQLModel):
    township: str
    township_name: str
    village: str | None = None
    households: int
    assigned: int
    verified: int  # every item 账实相符 at its check
    discrepancies_open: int  # items
    households_with_open: int
    complete: int
    signed_off: int


class ProgressReport(SQLModel):
    campaign_id: str
    name: str
    due_on: date
    by: Literal["township", "village"]
    rows: list[ProgressRow]
    total: ProgressRow
