"""脱贫 households (a read model of monitoring's events), their industries and measures (I2)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen
from fangpin_industry.base import Base


class HouseholdView(Base, table=True):
    """What monitoring announced about a household (fangpin.monitoring.household.upserted)."""

    __tablename__ = "households"
    __table_args__ = (Index("ix_households_township_village", "township", "village"),)

    id: str = Field(primary_key=True, max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    category: str = Field(max_length=20)
    monitoring_subcategory: str | None = Field(default=None, max_length=20)
    head_name: str = Field(max_length=50)
    people: int = 0  # living members
    revision: int
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class HouseholdIndustry(Base, table=True):
    """The industries a household develops (特色产业 or not)."""

    __tablename__ = "household_industries"

    household_id: str = Field(primary_key=True, foreign_key="households.id", max_length=64)
    industries: list[str] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Measure(Base, table=True):
    """An industry assistance measure delivered to a household (以奖代补, 小额信贷, …)."""

    __tablename__ = "household_measures"

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    measure_type: str = Field(max_length=20)
    granted_on: date
    ends_on: date | None = None
    amount_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    project_id: str | None = Field(default=None, max_length=36)
    note: str | None = Field(default=None, max_length=200)
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class IndustryUpdate(SQLModel):
    """The full list of industries the household develops (empty: none)."""

    industries: list[str] = Field(max_length=10)


class MeasureCreate(SQLModel):
    measure_type: str = Field(max_length=20,
                              description="帮扶措施，见县配置 industry.measure_types")
    granted_on: Day = Field(description="落实日期")
    ends_on: Day | None = Field(default=None, description="有效期止（如贷款到期日），可空")
    amount_fen: Fen | None = Field(default=None, ge=0, le=10**13, description="金额（分）")
    project_id: str | None = Field(default=None, max_length=36, description="带动的产业项目")
    note: str | None = Field(default=None, max_length=200)


class MeasureRead(SQLModel):
    id: str
    measure_type: str
    granted_on: date
    ends_on: date | None
    amount_fen: int | None
    project_id: str | None
    note: str | None
    effective: bool


class IndustryItem(SQLModel):
    name: str
    # county / village when it is one of the specialty industries there, else None.
    specialty_level: str | None


class HouseholdIndustryRead(SQLModel):
    household_id: str
    township: str
    village: str
    category: str
    monitoring_subcategory: str | None
    head_name: str
    poverty_alleviated: bool
    industries: list[IndustryItem]
    develops_specialty_industry: bool
    measures: list[MeasureRead]
    effective_measures: int


class CoverageFigures(SQLModel):
    township: str
    township_name: str
    households: int  # 脱贫户
    with_specialty_industry: int
    specialty_industry_percent: Decimal | None
    specialty_industry_met: bool
    with_assistance: int
    assistance_percent: Decimal | None
    assistance_met: bool
    developing_without_measure: int


class CoverageReport(SQLModel):
    as_of: date
    specialty_industry_target_percent: Decimal
    assistance_target_percent: Decimal
    townships: list[CoverageFigures]
    total: CoverageFigures


class GapRead(SQLModel):
    household_id: str
    township: str
    village: str
    head_name: str
    industries: list[str]
