"""The household change log the provincial platform pulls from (X1)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field

from fangpin_common.db import UTCDateTime
from fangpin_monitoring.base import Base


class HouseholdChange(Base, table=True):
    """One row per local change of a household (created, updated, imported).

    `seq` is assigned in commit order (see changes/service.py), so it is the feed's cursor.
    """

    __tablename__ = "household_changes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: int | None = Field(default=None, sa_column=Column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True))
    household_id: str = Field(max_length=64, index=True)
    revision: int
    origin: str = Field(max_length=16)
    changed_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
