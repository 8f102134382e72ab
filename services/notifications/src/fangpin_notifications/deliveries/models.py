"""Deliveries: one row per (event, recipient unit, push channel), processed by the dispatcher.

Like the outbox: written in the transaction that routes the event, claimed atomically by a
dispatcher (`UPDATE … RETURNING`, SKIP LOCKED on PostgreSQL), settled after each attempt.
Every attempt is logged; a delivery that exhausts its retries is a dead letter to resend.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from fangpin_common.db import UTCDateTime
from fangpin_notifications.base import Base

# pending → sent | dead | cancelled (the reminder was acknowledged before it went out)
#         | unknown (the process died during a send on a channel without an idempotency key:
#           it may have arrived; an operator checks and resends if not)
STATES = ("pending", "sent", "dead", "cancelled", "unknown")


class Delivery(Base, table=True):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_unit", "channel"),
        Index("ix_deliveries_state_available_at", "state", "channel", "available_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    event_id: str = Field(max_length=36)
    event_type: str = Field(max_length=200)
    recipient_unit: str = Field(max_length=64)
    channel: str = Field(max_length=16)
    rule: str | None = Field(default=None, max_length=200)
    reminder_id: str | None = Field(default=None, max_length=36)
    title: str = Field(max_length=200)
    body: str
    # What a webhook or SMS template may use: the event's data and a few names.
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default="pending", max_length=16)
    attempts: int = 0
    event_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    available_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Set (committed) just before a send, cleared when its outcome is recorded: still set long
    # after the channel's timeout, the sender died in between and nobody knows if it arrived.
    sending_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class DeliveryAttempt(Base, table=True):
    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_delivery", "delivery_id"),)

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=36)
    attempt: int
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    duration_ms: int
    # sending (in flight) → sent | retry | dead | unknown; cancelled
    outcome: str = Field(max_length=16)
    addresses: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    status: str | None = Field(default=None, max_length=50)
    error: str | None = Field(default=None, sa_column=Column(Text))


class AttemptRead(SQLModel):
    attempt: int
    started_at: datetime
    duration_ms: int
    outcome: str
    addresses: list[str]
    status: str | None
    error: str | None


class DeliveryRead(SQLModel):
    id: str
    event_id: str
    event_type: str
    recipient_unit: str
    channel: str
    rule: str | None
    reminder_id: str | None
    title: str
    body: str
    state: str
    attempts: int
    event_time: datetime
    created_at: datetime
    available_at: datetime
    sent_at: datetime | None
    sending_since: datetime | None = None
    last_error: str | None
    log: list[AttemptRead] = []
