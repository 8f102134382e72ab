"""The console's key ring: the newest key signs, every key still in its grace period verifies
and is published in the JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.tokens import SigningKey
from fangpin_console.keys.models import SigningKeyRow


@dataclass(frozen=True)
class KeyRing:
    signing: SigningKey
    published: list[SigningKey]  # the signing key first


def published_rows(rows: list[SigningKeyRow], now: datetime,
                   grace: timedelta) -> list[SigningKeyRow]:
    """Keys that still verify: the current one and those retired less than `grace` ago."""
    return [r for r in rows if r.retired_at is None or r.retired_at + grace > now]


async def ring(session: AsyncSession, now: datetime, grace: timedelta) -> KeyRing | None:
    rows = list((await session.execute(
        select(SigningKeyRow).order_by(SigningKeyRow.created_at.desc()))).scalars())
    current = next((r for r in rows if r.retired_at is None), None)
    if current is None:
        return None
    keys = [SigningKey.from_pem(r.kid, r.private_pem) for r in published_rows(rows, now, grace)]
    keys.sort(key=lambda k: k.kid != current.kid)
    return KeyRing(keys[0], keys)


async def rotate(session: AsyncSession, now: datetime) -> SigningKey:
    """A new signing key; the previous ones retire (still verified during the grace period)."""
    await session.execute(update(SigningKeyRow).where(SigningKeyRow.retired_at.is_(None))
                          .values(retired_at=now))
    key = SigningKey.generate()
    session.add(SigningKeyRow(kid=key.kid, private_pem=key.private_pem(),
                              public_jwk=key.public_jwk(), created_at=now))
    await session.flush()
    return key


async def ensure_key(session: AsyncSession, now: datetime, grace: timedelta) -> KeyRing:
    """The ring, with a first key made if there is none."""
    found = await ring(session, now, grace)
    if found is not None:
        return found
    await rotate(session, now)
    found = await ring(session, now, grace)
    assert found is not None
    return found
