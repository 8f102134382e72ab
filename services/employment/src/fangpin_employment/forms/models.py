"""Submissions of the monthly form; every version is kept (the submission history)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_employment.base import Base


class FormSubmission(Base, table=True):
    __tablename__ = "form_submissions"
    __table_args__ = (Index("ix_form_submissions_period", "period", "level", "township"),)

    id: str = Field(primary_key=True, max_length=36)
    level: str = Field(max_length=10)  # township | county
    township: str | None = Field(default=None, max_length=32)
    period: str = Field(max_length=7)
    version: int
    as_of: date
    submitted_on: date
    submitted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    submitted_by: str = Field(max_length=100)
    filler: str = Field(max_length=50)
    contact: str | None = Field(default=None, max_length=30)
    late: bool
    row_count: int
    rows: list = Field(sa_column=Column(JSON, nullable=False))
    # County roll-ups: the townships that had not submitted.
    missing_townships: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class SubmissionCreate(SQLModel):
    filler: str = Field(min_length=1, max_length=50, description="填报人")
    contact: str | None = Field(default=None, max_length=30, description="联系电话")


class SubmissionRead(SQLModel):
    id: str
    level: str
    township: str | None
    period: str
    version: int
    as_of: date
    submitted_on: date
    submitted_by: str
    filler: str
    contact: str | None
    late: bool
    row_count: int
    missing_townships: list


class FormData(SQLModel):
    title: str
    county: str
    township: str | None
    township_name: str | None
    period: str
    as_of: date
    columns: list[str]
    rows: list[list]
    filler: str | None = None
    contact: str | None = None
