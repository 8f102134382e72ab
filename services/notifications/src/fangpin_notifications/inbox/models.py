"""Reminders in a unit's in-app inbox: read, acknowledged, escalated when left unanswered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_notifications.base import Base

# unread → read → acknowledged; unread/read → resolved (the thing was done: see `resolved_by`).
STATES = ("unread", "read", "acknowledged", "resolved")
# Closed reminders: answered or done; they neither escalate nor appear in the digest.
CLOSED = ("acknowledged", "resolved")


class Reminder(Base, table=True):
    __tablename__ = "reminders"
    __table_args__ = (
        # Exactly one reminder per (event, recipient, channel), however often it is delivered.
        UniqueConstraint("event_id", "recipient_unit", "channel"),
        Index("ix_reminders_recipient_state", "recipient_unit", "state"),
        # The escalation scan reads only reminders still waiting to climb (a partial index:
        # most reminders never escalate and cost it nothing).
        Index("ix_reminders_escalate_at", "escalate_at",
              sqlite_where=text("escalate_at IS NOT NULL"),
              postgresql_where=text("escalate_at IS NOT NULL")),
        # Resolution finds the open reminders about a thing (only rules with `resolved_by`
        # store it).
        Index("ix_reminders_subject_key", "subject_key",
              sqlite_where=text("subject_key IS NOT NULL"),
              postgresql_where=text("subject_key IS NOT NULL")),
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
    # What it is about (a case id, a warning id …) when its rule has `resolved_by`: the domain
    # reporting that thing done closes it (state `resolved`).
    subject_key: str | None = Field(default=None, max_length=100)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # The routing rule that made it, its title and the event's data (for digests, escalation).
    rule: str | None = Field(default=None, max_length=200)
    title: str | None = Field(default=None, max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # The domain event it is about (for an escalated reminder: the event that started it all).
    origin_event_id: str | None = Field(default=None, max_length=36)
    origin_event_type: str | None = Field(default=None, max_length=200)
    overdue: bool = False
    # Escalation (N2): 0 for the first reminder, 1 one level up, …; escalate_at is cleared
    # when the scan climbs or when the reminder is acknowledged.
    level: int = 0
    escalate_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    escalated_to: str | None = Field(default=None, max_length=36)
    escalated_from: str | None = Field(default=None, max_length=36)
    # The rule wants its push channels summed up daily: these channels, in the digest.
    digest: bool = False
    digest_channels: list[str] | None = Field(default=None, sa_column=Column(JSON))


class ReminderRead(SQLModel):
    id: str
    event_id: str
    event_type: str
    recipient_unit: str
    township: str | None
    village: str | None
    household_id: str | None
    subject: str | None
    title: str | None
    body: str
    state: str
    rule: str | None
    level: int
    overdue: bool
    origin_event_id: str | None
    escalated_from: str | None
    escalated_to: str | None
    escalate_at: datetime | None
    event_time: datetime
    created_at: datetime
    read_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None = None
