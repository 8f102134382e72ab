"""Specialty industries (I5): the county list is configuration, village lists are kept here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_industry.base import Base


class VillageSpecialty(Base, table=True):
    __tablename__ = "village_specialties"

    township: str = Field(primary_key=True, max_length=32)
    village: str = Field(primary_key=True, max_length=64)
    industries: list[str] = Field(sa_column=Column(JSON, nullable=False))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class VillageSpecialtyUpdate(SQLModel):
    industries: list[str] = Field(max_length=20, description="村级特色产业（不超过县配置的上限）")


class VillageSpecialtyRead(SQLModel):
    township: str
    village: str
    industries: list[str]
    updated_at: datetime


class SpecialtyList(SQLModel):
    county_level: list[str]
    leading: list[str]
    max_county_level: int
    max_village_level: int
    villages: list[VillageSpecialtyRead]
