"""What the domain reported done: kept so that a reminder arriving after its "done" event (a
replay, a redelivery out of order) is closed as it is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field

from fangpin_common.db import UTCDateTime
from fangpin_notifications.base import Base


class Resolution(Base, table=True):
    __tablename__ = "resolutions"

    # The rule whose reminders it closes, and the thing (its subject key).
    rule: str = Field(primary_key=True, max_length=200)
    subject_key: str = Field(primary_key=True, max_length=100)
    # The latest "done" event's time: reminders of events up to then are closed by it.
    done_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    event_id: str = Field(max_length=36)
