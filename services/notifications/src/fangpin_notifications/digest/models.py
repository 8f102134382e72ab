"""One row per business day whose digest was composed: the claim that makes it happen once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column
from sqlmodel import Field

from fangpin_common.db import UTCDateTime
from fangpin_notifications.base import Base


class DigestRun(Base, table=True):
    __tablename__ = "digest_runs"

    business_date: date = Field(primary_key=True)
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    units: int = 0
