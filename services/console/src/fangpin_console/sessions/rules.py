"""When a session is alive, as plain functions."""

from __future__ import annotations

from datetime import datetime, timedelta

from fangpin_console.sessions.models import Session


def active(session: Session, now: datetime, idle: timedelta | None) -> bool:
    """Not revoked, not past its absolute end, and (web) not idle longer than `idle`."""
    if session.revoked_at is not None or session.expires_at <= now:
        return False
    return idle is None or session.last_seen_at + idle > now


def worth_touching(last_seen_at: datetime, now: datetime) -> bool:
    """`last_seen_at` is written at most once a minute: a page view is not a database write."""
    return now - last_seen_at >= timedelta(minutes=1)
