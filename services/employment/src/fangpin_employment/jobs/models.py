"""Jobs and public employment services (E5, E11): postings pushed to townships and villages
(enterprise, gig, internship), and work-relief projects with labour contracts and wages."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, BigInteger, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Day, Fen
from fangpin_employment.base import Base

PostingKind = Literal["enterprise", "gig", "internship"]


class JobPosting(Base, table=True):
    __tablename__ = "job_postings"

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=12)
    title: str = Field(max_length=100)
    employer: str = Field(max_length=100)
    positions: int
    wage_min_fen: int | None = Field(default=None, sa_type=BigInteger)
    wage_max_fen: int | None = Field(default=None, sa_type=BigInteger)
    work_place: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    # Where it is pushed: township codes and village names; empty townships = all of them.
    townships: list = Field(sa_column=Column(JSON, nullable=False))
    villages: list = Field(sa_column=Column(JSON, nullable=False))
    published_on: date
    closes_on: date | None = None
    published_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PostingCreate(SQLModel):
    kind: PostingKind = "enterprise"
    title: str = Field(min_length=1, max_length=100)
    employer: str = Field(min_length=1, max_length=100)
    positions: int = Field(ge=1, le=100000)
    wage_min_fen: Fen | None = Field(default=None, ge=0)
    wage_max_fen: Fen | None = Field(default=None, ge=0)
    work_place: str | None = Field(default=None, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    townships: list[str] = Field(default_factory=list, description="乡镇名称或代码；空为全县")
    villages: list[str] = Field(default_factory=list)
    closes_on: Day | None = None


class PostingRead(SQLModel):
    id: str
    kind: str
    title: str
    employer: str
    positions: int
    wage_min_fen: int | None
    wage_max_fen: int | None
    work_place: str | None
    description: str | None
    townships: list
    villages: list
    published_on: date
    closes_on: date | None


class ReliefProject(Base, table=True):
    """A work-relief (以工代赈) project that employs local 脱贫 labour."""

    __tablename__ = "relief_projects"

    id: str = Field(primary_key=True, max_length=36)
    name: str = Field(max_length=100)
    township: str = Field(index=True, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    contractor: str = Field(max_length=100)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class LabourContract(Base, table=True):
    __tablename__ = "relief_contracts"
    __table_args__ = (UniqueConstraint("project_id", "labourer_id"),)

    id: str = Field(primary_key=True, max_length=36)
    project_id: str = Field(max_length=36)
    labourer_id: str = Field(max_length=64)
    signed_on: date
    daily_wage_fen: int = Field(sa_type=BigInteger)


class WagePayment(Base, table=True):
    """What a contract owed for a month and what was paid (劳务报酬, 及时足额发放)."""

    __tablename__ = "relief_wages"
    __table_args__ = (UniqueConstraint("contract_id", "period"),)

    id: str = Field(primary_key=True, max_length=36)
    contract_id: str = Field(max_length=36)
    period: str = Field(max_length=7)
    days_worked: int
    due_fen: int = Field(sa_type=BigInteger)
    paid_fen: int = Field(sa_type=BigInteger)
    paid_on: date | None = None


class ProjectCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    township: str = Field(max_length=32)
    village: str | None = Field(default=None, max_length=64)
    contractor: str = Field(min_length=1, max_length=100)
    starts_on: Day
    ends_on: Day | None = None


class ContractCreate(SQLModel):
    labourer_id: str = Field(min_length=1, max_length=64)
    signed_on: Day
    daily_wage_fen: Fen = Field(gt=0)


class WageRecord(SQLModel):
    period: str = Field(regex=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")
    days_worked: int = Field(ge=0, le=31)
    paid_fen: Fen = Field(ge=0)
    paid_on: Day | None = None


class UnpaidRow(SQLModel):
    contract_id: str
    labourer_id: str
    name: str
    period: str
    due_fen: int
    paid_fen: int
    unpaid_fen: int
