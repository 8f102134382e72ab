"""Opening, finding and revoking sessions. Never commits (the caller's unit of work does)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common import outbox
from fangpin_common.events.console import SessionRevoked, SessionRevokedData
from fangpin_console.sessions.models import Session


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def open_session(session: AsyncSession, *, account_id: str, unit: str, kind: str,
                       now: datetime, lifetime: timedelta, client_address: str | None = None,
                       user_agent: str | None = None) -> tuple[Session, str]:
    """A new session and its secret (the cookie value or refresh token, shown once)."""
    secret = secrets.token_urlsafe(32)
    row = Session(id=secrets.token_urlsafe(16), account_id=account_id, kind=kind,
                  secret_hash=secret_hash(secret), csrf_token=secrets.token_urlsafe(24),
                  unit=unit, created_at=now, last_seen_at=now, expires_at=now + lifetime,
                  client_address=client_address, user_agent=(user_agent or "")[:255] or None)
    session.add(row)
    await session.flush()
    return row, secret


async def by_secret(session: AsyncSession, secret: str) -> Session | None:
    return (await session.execute(
        select(Session).where(Session.secret_hash == secret_hash(secret)))).scalar_one_or_none()


async def revoke(session: AsyncSession, row: Session, reason: str, now: datetime,
                 token_lifetime: timedelta) -> bool:
    """Revoke one session and publish `session.revoked` (in the same transaction), so the
    services refuse its tokens at once. False when it was already revoked."""
    if row.revoked_at is not None:
        return False
    row.revoked_at = now
    row.revoked_reason = reason
    session.add(row)
    await outbox.emit(session, SessionRevoked(subject=row.id, data=SessionRevokedData(
        session_id=row.id, account_id=row.account_id, reason=reason, revoked_at=now,
        not_after=now + token_lifetime)))
    return True


async def revoke_all(session: AsyncSession, account_id: str, reason: str, now: datetime,
                     token_lifetime: timedelta, keep: str | None = None) -> int:
    """Every live session of an account (but `keep`)."""
    rows = (await session.execute(select(Session).where(
        Session.account_id == account_id, Session.revoked_at.is_(None),
        Session.expires_at > now))).scalars().all()
    count = 0
    for row in rows:
        if row.id != keep and await revoke(session, row, reason, now, token_lifetime):
            count += 1
    return count


async def sign_in(session: AsyncSession, *, account_id: str, username: str, role: str,
                  unit: str, kind: str, now: datetime, lifetime: timedelta,
                  client_address: str | None, user_agent: str | None) -> tuple[Session, str]:
    """A session for a person whose password was just checked; audited."""
    from fangpin_console.accounts import audit

    row, secret = await open_session(session, account_id=account_id, unit=unit, kind=kind,
                                     now=now, lifetime=lifetime, client_address=client_address,
                                     user_agent=user_agent)
    await audit.record(session, actor=username, role=role, action="sign_in",
                       entity_id=account_id, now=now,
                       after={"session": row.id, "kind": kind, "unit": unit,
                              "address": client_address})
    return row, secret


async def sign_out(session: AsyncSession, row: Session, *, username: str, role: str,
                   now: datetime, token_lifetime: timedelta) -> None:
    from fangpin_console.accounts import audit

    if await revoke(session, row, "sign_out", now, token_lifetime):
        await audit.record(session, actor=username, role=role, action="sign_out",
                           entity_id=row.account_id, now=now, after={"session": row.id})
