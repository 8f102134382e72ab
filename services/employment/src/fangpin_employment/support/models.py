"""Applications for subsidies, loans and training (E8–E10) and their status."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlalchemy import JSON, BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_common.types import Count, Day, Fen
from fangpin_employment.base import Base

SupportKind = Literal[
    "social_insurance_subsidy", "job_creation_subsidy", "employment_service_subsidy",
    "startup_subsidy", "training_subsidy", "post_subsidy", "post_accident_insurance",
    "workshop_construction_subsidy", "travel_subsidy", "in_county_work_subsidy", "tax_relief",
    "startup_guarantee_loan", "microcredit", "free_training"]


class Application(Base, table=True):
    __tablename__ = "support_applications"
    __table_args__ = (Index("ix_support_applications_subject", "kind", "subject_id", "year"),)

    id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(max_length=40)
    family: str = Field(max_length=10)
    subject_id: str = Field(max_length=100)  # labourer id, workshop id or employer name
    township: str | None = Field(default=None, max_length=32)
    year: int
    amount_fen: int = Field(sa_type=BigInteger)
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="submitted", max_length=10)
    submitted_on: date
    decided_on: date | None = None
    decision_note: str | None = Field(default=None, max_length=200)
    paid_on: date | None = None
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ApplicationCreate(SQLModel):
    kind: SupportKind
    labourer_id: str | None = Field(default=None, max_length=64)
    workshop_id: str | None = Field(default=None, max_length=36)
    employer: str | None = Field(default=None, max_length=100)
    township: str | None = Field(default=None, max_length=32)
    amount_fen: Fen = Field(ge=0)
    # Facts the records cannot show: a business registration, a finished course, employees.
    business_name: str | None = Field(default=None, max_length=100)
    training_course: str | None = Field(default=None, max_length=100)
    training_completed_on: Day | None = None
    poverty_employees: Count | None = Field(default=None, ge=0)


class Decision(SQLModel):
    action: Literal["approve", "reject", "pay"]
    on: Day | None = None
    note: str | None = Field(default=None, max_length=200)


class ApplicationRead(SQLModel):
    id: str
    kind: str
    label: str
    family: str
    subject_id: str
    township: str | None
    year: int
    amount_fen: int
    details: dict
    status: str
    submitted_on: date
    decided_on: date | None
    decision_note: str | None
    paid_on: date | None
