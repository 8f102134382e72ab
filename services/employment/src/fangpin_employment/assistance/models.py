"""The "251" one-to-one employment assistance ledger (E12): service items, one by one."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day
from fangpin_employment.base import Base


class AssistanceItem(Base, table=True):
    __tablename__ = "assistance_items"
    __table_args__ = (
        Index("ix_assistance_items_labourer_on", "labourer_id", "item_on"),
        Index("ix_assistance_items_township_village", "township", "village"),
    )

    id: str = Field(primary_key=True, max_length=36)
    labourer_id: str = Field(max_length=64)
    household_id: str | None = Field(default=None, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    kind: str = Field(max_length=32)
    item_on: date
    helper_name: str = Field(max_length=50)
    helper_unit: str | None = Field(default=None, max_length=64)
    content: str = Field(max_length=500)
    result: str | None = Field(default=None, max_length=200)
    recorded_by: str = Field(max_length=100)
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ItemCreate(SQLModel):
    kind: str = Field(min_length=1, max_length=32,
                      description="服务项目（默认：job_recommendation、policy_contact、training_referral）")
    item_on: Day
    helper_name: str = Field(min_length=1, max_length=50)
    helper_unit: str | None = Field(default=None, max_length=64)
    content: str = Field(min_length=1, max_length=500,
                         description="推荐的岗位、宣传的政策或服务内容")
    result: str | None = Field(default=None, max_length=200)


class ItemRead(SQLModel):
    id: str
    labourer_id: str
    kind: str
    label: str
    item_on: date
    helper_name: str
    helper_unit: str | None
    content: str
    result: str | None


class Progress(SQLModel):
    kind: str
    label: str
    required: int
    done: int


class Ledger(SQLModel):
    labourer_id: str
    name: str
    year: int
    items: list[ItemRead]
    progress: list[Progress]
    carried_out: bool  # 是否开展"251"就业帮扶 — derived, never typed in
    has_ledger: bool  # 开展"251"帮扶是否有台账 — derived, never typed in
