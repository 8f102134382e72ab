"""Grid areas (网格) and the visit ledger (走访台账)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Revision
from fangpin_monitoring.base import Base
from fangpin_monitoring.cases.models import RiskTypes

VisitorRole = Literal["网格员", "帮扶联系人", "驻村第一书记", "驻村工作队员", "村干部",
                      "乡镇干部", "其他"]
MAX_AREA_HOUSEHOLDS = 2000


class GridArea(Base, table=True):
    __tablename__ = "grid_areas"
    __table_args__ = (UniqueConstraint("township", "village", "name"),)

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=64)
    township: str = Field(max_length=32, index=True)
    village: str = Field(max_length=64)
    worker_name: str = Field(max_length=50)
    worker_phone: str | None = Field(default=None, max_length=20)
    # No lost update (fangpin_common.revisions): a replacement names the revision it read.
    revision: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GridAreaHousehold(Base, table=True):
    """A household belongs to at most one grid area."""

    __tablename__ = "grid_area_households"

    household_id: str = Field(primary_key=True, foreign_key="households.id", max_length=64)
    grid_area_id: str = Field(foreign_key="grid_areas.id", index=True, max_length=64)
    added_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Visit(Base, table=True):
    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_household_visited_on", "household_id", "visited_on"),
                      Index("ix_visits_township_village", "township", "village"))

    id: str = Field(primary_key=True, max_length=64)
    household_id: str = Field(foreign_key="households.id", max_length=64)
    township: str = Field(max_length=32)
    village: str = Field(max_length=64)
    grid_area_id: str | None = Field(default=None, max_length=64)
    visited_on: date
    visitor_name: str = Field(max_length=50)
    visitor_role: str | None = Field(default=None, max_length=20)
    family_changes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    living_conditions: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    industry: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    employment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    leaflet_explained: bool
    risk_found: bool
    risk_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class GridAreaFields(SQLModel):
    name: str = Field(min_length=1, max_length=64, description="网格名称")
    worker_name: str = Field(min_length=1, max_length=50, description="防贫监测网格员")
    worker_phone: str | None = Field(default=None, max_length=20)
    household_ids: list[str] = Field(default_factory=list, max_length=MAX_AREA_HOUSEHOLDS,
                                     description="本网格负责的农户")


class GridAreaCreate(GridAreaFields):
    township: str = Field(max_length=32, description="乡镇代码或名称")
    village: str = Field(min_length=1, max_length=64)


class GridAreaUpdate(GridAreaFields):
    """A full replacement: households left out leave the area."""

    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")


class GridAreaRead(SQLModel):
    id: str
    name: str
    township: str
    village: str
    worker_name: str
    worker_phone: str | None
    household_ids: list[str]
    revision: int
    created_at: datetime
    updated_at: datetime


_TEXT = 2000


class VisitCreate(SQLModel):
    household_id: str = Field(min_length=1, max_length=64)
    visited_on: Day = Field(description="走访日期")
    visitor_name: str = Field(min_length=1, max_length=50, description="走访人")
    visitor_role: VisitorRole | None = None
    family_changes: str | None = Field(default=None, max_length=_TEXT, description="家庭信息变化")
    living_conditions: str | None = Field(default=None, max_length=_TEXT,
                                          description="生产生活情况")
    industry: str | None = Field(default=None, max_length=_TEXT, description="产业发展情况")
    employment: str | None = Field(default=None, max_length=_TEXT, description="务工就业情况")
    leaflet_explained: bool = Field(description="是否宣传讲解政策“明白纸”")
    risk_found: bool = Field(description="是否发现返贫致贫风险")
    risk_types: RiskTypes = Field(default_factory=list)
    notes: str | None = Field(default=None, max_length=_TEXT)


class VisitRead(SQLModel):
    id: str
    household_id: str
    township: str
    village: str
    grid_area_id: str | None
    visited_on: date
    visitor_name: str
    visitor_role: str | None
    family_changes: str | None
    living_conditions: str | None
    industry: str | None
    employment: str | None
    leaflet_explained: bool
    risk_found: bool
    risk_types: list[str]
    notes: str | None
    created_at: datetime
    deadlines_met: list[str] = []


class CoverageRow(SQLModel):
    township: str
    village: str | None
    due: int
    visited: int
    visited_on_time: int
    overdue: int
    rate: float | None


class CoverageReport(SQLModel):
    period: str
    kind: str
    level: str
    rows: list[CoverageRow]
    total: CoverageRow


class LeafletRow(SQLModel):
    township: str
    village: str
    households: int
    explained: int
    rate: float | None


class LeafletReport(SQLModel):
    year: int | None
    rows: list[LeafletRow]


class OpenDeadlinesResult(SQLModel):
    months: list[str]
    monthly_opened: int
    q1_opened: int
    met_on_opening: int
