"""The project library (项目库): projects, their problem flags and registered assets (I3, I4)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen, Revision
from fangpin_industry.base import Base
from fangpin_industry.vocabulary import (
    EntityType,
    FlagKind,
    FundSource,
    LinkageMode,
    ProjectCategory,
    ProjectStatus,
)

MAX_FEN = 10**14  # a trillion yuan: above this a figure is a typing error


class Project(Base, table=True):
    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_township_status", "township", "status"),)

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    year: int
    township: str = Field(max_length=32)
    village: str | None = Field(default=None, max_length=64)
    category: str = Field(max_length=4)
    industry: str | None = Field(default=None, max_length=20)
    entity_name: str = Field(max_length=100)
    entity_type: str = Field(max_length=10)
    linkage_model: str = Field(max_length=60)
    farmer_linkage: list[dict] = Field(sa_column=Column(JSON, nullable=False))
    funds: list[dict] = Field(sa_column=Column(JSON, nullable=False))
    total_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    disbursed_fen: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    status: str = Field(default="未开工", max_length=4)
    planned_start: date | None = None
    planned_completion: date
    completed_on: date | None = None
    in_use_on: date | None = None
    linked_households_actual: int | None = None
    responsible_unit: str = Field(max_length=64)
    revision: int = 1
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ProjectFlag(Base, table=True):
    """One occurrence of a problem flag. `active` is True while open and NULL once cleared, so
    the unique key allows one open flag per (project, flag) and any number of cleared ones."""

    __tablename__ = "project_flags"
    __table_args__ = (UniqueConstraint("project_id", "flag", "active"),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="projects.id", index=True, max_length=36)
    flag: str = Field(max_length=4)
    active: bool | None = True
    source: str = Field(max_length=8)  # staff | scanner
    reason: str = Field(max_length=300)
    raised_on: date
    raised_by: str = Field(max_length=100)
    raised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    fix_due_on: date
    announced_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cleared_on: date | None = None
    cleared_by: str | None = Field(default=None, max_length=100)
    cleared_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    clear_reason: str | None = Field(default=None, max_length=300)


class ProjectAsset(Base, table=True):
    """A project asset registered into the village collective's assets (I3)."""

    __tablename__ = "project_assets"

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(foreign_key="projects.id", index=True, max_length=36)
    name: str = Field(max_length=100)
    value_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    owner: str = Field(max_length=100)
    owner_village: str | None = Field(default=None, max_length=64)
    registered_on: date
    recorded_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


# -- schemas ---------------------------------------------------------------------------------
class Linkage(SQLModel):
    """One way the project benefits farmers (联农带农)."""

    mode: LinkageMode
    description: str = Field(max_length=300, description="如：保底分红每户每年500元")
    households: int = Field(ge=0, le=1_000_000, description="计划带动农户数")
    poverty_households: int = Field(default=0, ge=0, le=1_000_000,
                                    description="其中脱贫户（含监测户）")


class FundItem(SQLModel):
    source: FundSource
    amount_fen: Fen = Field(ge=0, le=MAX_FEN)


class ProjectCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    year: int = Field(ge=2000, le=2100)
    township: str = Field(max_length=32, description="乡镇代码或名称")
    village: str | None = Field(default=None, max_length=64)
    category: ProjectCategory
    industry: str | None = Field(default=None, max_length=20, description="所属特色产业")
    entity_name: str = Field(min_length=1, max_length=100, description="经营主体")
    entity_type: EntityType
    linkage_model: str = Field(max_length=60, description="如 龙头企业+合作社+基地+农户")
    # Stated before the project enters the library (I3): an empty list is refused.
    farmer_linkage: list[Linkage] = Field(default_factory=list, max_length=10)
    funds: list[FundItem] = Field(min_length=1, max_length=10)
    planned_start: Day | None = None
    planned_completion: Day
    responsible_unit: str | None = Field(default=None, max_length=64,
                                         description="责任单位代码，默认为项目库牵头单位")


class ProjectUpdate(SQLModel):
    """Changes to a library project; fields left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    village: str | None = Field(default=None, max_length=64)
    category: ProjectCategory | None = None
    industry: str | None = Field(default=None, max_length=20)
    entity_name: str | None = Field(default=None, min_length=1, max_length=100)
    entity_type: EntityType | None = None
    linkage_model: str | None = Field(default=None, max_length=60)
    farmer_linkage: list[Linkage] | None = Field(default=None, max_length=10)
    funds: list[FundItem] | None = Field(default=None, min_length=1, max_length=10)
    planned_start: Day | None = None
    planned_completion: Day | None = None
    status: ProjectStatus | None = None
    completed_on: Day | None = None
    in_use_on: Day | None = None
    disbursed_fen: int | None = Field(default=None, ge=0, le=MAX_FEN)
    linked_households_actual: int | None = Field(default=None, ge=0, le=1_000_000)
    responsible_unit: str | None = Field(default=None, max_length=64)
    revision: Revision | None = Field(default=None, description="所依据的版本（或用 If-Match）")


class FlagCreate(SQLModel):
    flag: FlagKind
    reason: str = Field(min_length=1, max_length=300)


class FlagClear(SQLModel):
    reason: str = Field(min_length=1, max_length=300, description="整改情况")


class AssetCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    value_fen: int = Field(ge=0, le=MAX_FEN)
    owner: str = Field(min_length=1, max_length=100, description="村集体经济组织名称")
    owner_village: str | None = Field(default=None, max_length=64)
    registered_on: Day


class FlagRead(SQLModel):
    id: str
    flag: str
    active: bool
    source: str
    reason: str
    raised_on: date
    fix_due_on: date
    fix_state: str | None
    cleared_on: date | None
    clear_reason: str | None


class AssetRead(SQLModel):
    id: str
    name: str
    value_fen: int
    owner: str
    owner_village: str | None
    registered_on: date


class ProjectRead(SQLModel):
    id: str
    name: str
    year: int
    township: str
    village: str | None
    category: str
    industry: str | None
    entity_name: str
    entity_type: str
    linkage_model: str
    farmer_linkage: list[Linkage]
    funds: list[FundItem]
    total_fen: int
    disbursed_fen: int
    status: str
    planned_start: date | None
    planned_completion: date
    completed_on: date | None
    in_use_on: date | None
    linked_households_actual: int | None
    responsible_unit: str
    revision: int
    flags: list[FlagRead]
    assets: list[AssetRead]


class LibraryFigures(SQLModel):
    """Fund performance and problems of the library in one township (or the county)."""

    township: str
    township_name: str
    projects: int
    by_status: dict[str, int]
    total_fen: int
    disbursed_fen: int
    disbursed_percent: Decimal | None
    linked_households_planned: int
    linked_poverty_households_planned: int
    linked_households_actual: int
    open_flags: dict[str, int]
    assets_fen: int
