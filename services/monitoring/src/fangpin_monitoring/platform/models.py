"""The provincial platform's view of our households (X1): versions received, batch schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import field_validator
from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from fangpin_common.bounded_lists import at_most
from fangpin_common.clock import BUSINESS_TZ
from fangpin_common.db import UTCDateTime
from fangpin_monitoring.base import Base
from fangpin_monitoring.households.models import (
    MAX_MEMBERS,
    HouseholdFields,
    HouseholdRead,
    Members,
)

MAX_BATCH = 1000


class PlatformRecord(Base, table=True):
    """The newest platform version applied to a household: replays and older versions stop here."""

    __tablename__ = "platform_records"

    platform_id: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(foreign_key="households.id", unique=True, max_length=64)
    version: int
    source_updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    content_hash: str = Field(max_length=64)
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PlatformHousehold(HouseholdFields):
    members: Members = Field(min_length=1, max_length=MAX_MEMBERS)


class PlatformItem(SQLModel):
    platform_id: str = Field(min_length=1, max_length=64, description="广西平台户编号")
    version: int = Field(ge=0, description="平台上该户的版本号（递增）")
    updated_at: datetime = Field(description="平台上该户的更新时间；版本号相同时比较它")
    household: PlatformHousehold

    @field_validator("updated_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        # The platform writes Beijing time; a time without a zone is read as such.
        return value if value.tzinfo else value.replace(tzinfo=BUSINESS_TZ)


class PlatformBatch(SQLModel):
    """Each item is checked on its own (see PlatformItem): one bad item does not stop the rest."""

    items: Annotated[list[dict[str, Any]], at_most(MAX_BATCH, "一批的农户")] = Field(
        min_length=1, max_length=MAX_BATCH, description="每项的结构见 PlatformItem")


ItemStatus = Literal["created", "updated", "unchanged", "stale", "conflict", "rejected"]


class ItemError(SQLModel):
    loc: list[str | int]
    msg: str
    type: str


class ItemResult(SQLModel):
    index: int
    platform_id: str | None
    status: ItemStatus
    household_id: str | None = None
    version: int | None = None
    stored_version: int | None = None
    errors: list[ItemError] = []


class BatchResult(SQLModel):
    counts: dict[str, int]
    items: list[ItemResult]


class ChangeRead(SQLModel):
    household_id: str
    platform_id: str | None
    revision: int
    origin: str
    changed_at: datetime
    household: HouseholdRead | None


class ChangesPage(SQLModel):
    changes: list[ChangeRead]
    next_cursor: str
    has_more: bool
