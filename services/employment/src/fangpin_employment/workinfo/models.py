"""Quarterly work information per labourer (E4) and what screening finds in it (E7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.bounded_lists import at_most
from fangpin_common.db import UTCDateTime
from fangpin_common.types import Count, Day, SignedFen
from fangpin_employment.base import Base

LocationType = Literal["县内", "区内县外", "区外"]
# Records per batch: a township's labourers for one quarter fit (the largest, 长安镇, has
# about 29,000 transfer-employment targets, sent in several batches).
MAX_BATCH = 5000


class WorkRecord(Base, table=True):
    __tablename__ = "work_records"
    __table_args__ = (
        UniqueConstraint("labourer_id", "year", "quarter"),
        Index("ix_work_records_township_period", "township", "year", "quarter"),
    )

    id: str = Field(primary_key=True, max_length=36)
    labourer_id: str = Field(max_length=64)
    household_id: str | None = Field(default=None, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    year: int
    quarter: int
    location_type: str | None = Field(default=None, max_length=10)
    place: str | None = Field(default=None, max_length=100)
    months_worked: int
    wage_fen: int = Field(sa_type=BigInteger)
    employer: str | None = Field(default=None, max_length=100)
    helper_name: str | None = Field(default=None, max_length=50)
    verified_on: date | None = None
    entered_by: str = Field(max_length=100)
    entered_on: date
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class WorkRecordIn(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    location_type: LocationType | None = Field(default=None, description="县内/区内县外/区外")
    place: str | None = Field(default=None, max_length=100, description="务工地点")
    months_worked: Count = Field(description="本季度务工月数（0–3）")
    wage_fen: SignedFen = Field(description="本季度工资性收入（分）")
    employer: str | None = Field(default=None, max_length=100)
    helper_name: str | None = Field(default=None, max_length=50, description="采集的帮扶联系人")
    verified_on: Day | None = Field(default=None, description="与农户核实确认的日期")


class WorkRecordBatch(SQLModel):
    records: Annotated[list[WorkRecordIn], at_most(MAX_BATCH, "一批的务工记录")] = Field(
        min_length=1, max_length=MAX_BATCH)


class WorkRecordRead(SQLModel):
    id: str
    labourer_id: str
    household_id: str | None
    township: str
    village: str
    year: int
    quarter: int
    location_type: str | None
    place: str | None
    months_worked: int
    wage_fen: int
    employer: str | None
    helper_name: str | None
    verified_on: date | None
    entered_on: date


class BatchResult(SQLModel):
    stored: int
    deadlines_met: int


class Anomaly(SQLModel):
    labourer_id: str
    name: str
    village: str
    record_id: str | None
    codes: list[str]
    messages: list[str]


class Screening(SQLModel):
    township: str
    township_name: str
    year: int
    quarter: int
    labourers: int
    records: int
    counts: dict[str, int]
    anomalies: list[Anomaly]


class StableCount(SQLModel):
    township: str
    township_name: str
    stable: int
    stable_poverty: int
