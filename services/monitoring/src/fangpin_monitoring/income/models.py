"""Household income by source and month (M6, M12), in fen."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_monitoring.base import Base

Source = Literal["工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出"]


class IncomeRecord(Base, table=True):
    __tablename__ = "income_records"
    __table_args__ = (UniqueConstraint("household_id", "period", "source"),)

    id: str = Field(primary_key=True, max_length=36)
    household_id: str = Field(foreign_key="households.id", index=True, max_length=64)
    period: str = Field(index=True, max_length=7)  # YYYY-MM
    source: str = Field(max_length=16)
    amount_fen: int = Field(ge=0)
    recorded_by: str = Field(max_length=100)
    recorded_on: date
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class IncomeItem(SQLModel):
    source: Source
    amount_yuan: Decimal = Field(ge=0, le=Decimal("10000000"), max_digits=12, decimal_places=2,
                                 description="金额（元，最多两位小数）")


class IncomeMonth(SQLModel):
    """All sources of one month; sending the month again replaces it."""

    items: list[IncomeItem] = Field(min_length=1, max_length=20)


class CollectionRound(SQLModel):
    period: str = Field(description="采集月份 YYYY-MM")


class IncomeMonthRead(SQLModel):
    period: str
    items: dict[str, Decimal]
    net_yuan: Decimal


class HouseholdIncomeRead(SQLModel):
    household_id: str
    year: int
    persons: int
    months: list[IncomeMonthRead]
    months_recorded: int
    net_yuan: Decimal
    per_capita_yuan: Decimal | None
    line_yuan: Decimal


class LedgerRow(SQLModel):
    household_id: str
    township: str
    village: str
    head_name: str
    category: str
    persons: int
    per_capita_yuan: Decimal | None
    basis_year: int | None
    months_recorded: int
    previous_per_capita_yuan: Decimal | None
    reasons: list[str]
    reason_names: list[str]


class CollectionRoundRead(SQLModel):
    period: str
    opened: int
    already_open: int
    due_on: date
