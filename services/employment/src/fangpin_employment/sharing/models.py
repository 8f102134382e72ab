"""Quarterly sharing with the HR bureau (E6): last quarter's work information and key groups."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_employment.base import Base


class Share(Base, table=True):
    __tablename__ = "quarter_shares"
    __table_args__ = (UniqueConstraint("year", "quarter"),)

    id: str = Field(primary_key=True, max_length=36)
    year: int
    quarter: int
    shared_on: date
    shared_by: str = Field(max_length=100)
    work_records: int
    key_group_members: int
    townships: list = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ShareRead(SQLModel):
    id: str
    year: int
    quarter: int
    shared_on: date
    shared_by: str
    work_records: int
    key_group_members: int
    townships: list
