"""Time as the services see it: UTC instants and Asia/Shanghai business dates.

Deadlines count business dates in the county's time zone. Tests replace the clock
(`SettableClock`) instead of sleeping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        return self.now().astimezone(BUSINESS_TZ).date()


class SettableClock(Clock):
    """A clock tests move by hand."""

    def __init__(self, at: datetime | None = None) -> None:
        super().__init__()
        self._at = at or datetime.now(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at

    def set_today(self, day: date, hour: int = 10) -> None:
        self._at = datetime(day.year, day.month, day.day, hour, tzinfo=BUSINESS_TZ).astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._at += delta


def business_date(instant: datetime) -> date:
    return instant.astimezone(BUSINESS_TZ).date()
