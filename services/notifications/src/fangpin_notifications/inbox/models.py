"""Reminders in a unit's in-app inbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_notifications.base import Base


class Reminder(Base, table=True):
    __tablename__ = "reminders"
    __table_args__ = (
        # Exactly one reminder per (event, recipient, channel), however often it is delivered.
        UniqueConstraint("event_id", "recipient_unit", "channel"),
        Index("ix_reminders_recipient_state", "recipient_unit", "state"),
    )

    id: str = Field(primary_key=True, max_length=36)
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=200)
    recipient_unit: str = Field(max_length=64)
    channel: str = Field(default="inbox", max_length=16)
    township: str | None = Field(default=None, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    household_id: str | None = Field(default=None, max_length=64)
    subject: str | None = Field(default=None, max_length=100)
    body: str
    state: str = Field(default="unread", max_length=16)
    event_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ReminderRead(SQLModel):
    id: str
    event_id: str
    event_type: str
    recipient_unit: str
    township: str | None
    village: str | None
    household_id: str | None
    subject: str | None
    body: str
    state: str
    event_time: datetime
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None
