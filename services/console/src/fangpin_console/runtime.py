"""What the console's routes share: settings, county, clock, database, keys, throttle."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request

from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.db import Database
from fangpin_common.tokens import SigningKey, jwks_of, mint, unit_principal
from fangpin_console.accounts.rules import PasswordPolicy, Throttle
from fangpin_console.keys import service as keys
from fangpin_console.settings import ConsoleSettings


class KeyCache:
    """The key ring as last read from the database; read again every `reload_seconds`, so a
    rotation by `fangpin keys rotate` (another process) is taken up without a restart."""

    def __init__(self, db: Database, grace: timedelta, reload_seconds: float = 30.0) -> None:
        self.db = db
        self.grace = grace
        self.reload_seconds = reload_seconds
        self._ring: keys.KeyRing | None = None
        self._loaded = float("-inf")

    async def ring(self, force: bool = False) -> keys.KeyRing:
        if force or self._ring is None or time.monotonic() - self._loaded > self.reload_seconds:
            # A read: this runs inside requests that may hold the (SQLite) write turn.
            async with self.db.session() as session:
                found = await keys.ring(session, datetime.now(UTC), self.grace)
            if found is None:  # only at the first start
                async with self.db.unit_of_work() as session:
                    found = await keys.ensure_key(session, datetime.now(UTC), self.grace)
            self._ring = found
            self._loaded = time.monotonic()
        return self._ring

    async def signing(self) -> SigningKey:
        return (await self.ring()).signing

    async def jwks(self) -> dict[str, Any]:
        return jwks_of((await self.ring()).published)

    async def fresh_jwks(self) -> dict[str, Any]:
        return jwks_of((await self.ring(force=True)).published)


@dataclass
class Console:
    settings: ConsoleSettings
    county: County
    clock: Clock
    db: Database
    keys: KeyCache
    throttle: Throttle
    # sid → (token, exp): pages reuse a token until it is close to expiry.
    tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @classmethod
    def of(cls, app: FastAPI) -> Console:
        return app.state.console

    @classmethod
    def from_request(cls, request: Request) -> Console:
        return request.app.state.console

    @property
    def policy(self) -> PasswordPolicy:
        return PasswordPolicy(self.settings.password_min_length,
                              self.settings.password_min_classes)

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(minutes=self.settings.access_token_minutes)

    @property
    def revocation_lifetime(self) -> timedelta:
        """How long a revoked session must be refused: its last token's life plus leeway."""
        return self.token_lifetime + timedelta(seconds=self.settings.jwt_leeway_seconds)

    def now(self) -> datetime:
        # Security times run on the wall clock, never on the business clock (which tests set).
        return datetime.now(UTC)

    def principal(self, username: str, unit: str) -> Principal:
        return unit_principal(self.county, unit, username)

    async def access_token(self, sid: str, username: str, unit: str, display_name: str,
                           now: datetime | None = None) -> tuple[str, datetime]:
        """The session's access token, minted again when less than the refresh margin is left."""
        now = now or self.now()
        cached = self.tokens.get(sid)
        margin = timedelta(seconds=self.settings.access_token_refresh_seconds)
        if cached is not None and cached[1] - now > margin:
            return cached
        key = await self.keys.signing()
        token = mint(key, self.principal(username, unit), issuer=self.settings.jwt_issuer,
                     ttl=self.token_lifetime, now=now, sid=sid,
                     audience=self.settings.jwt_audience, extra={"name": display_name})
        expires = now.replace(microsecond=0) + self.token_lifetime
        if len(self.tokens) > 50_000:
            self.tokens = {k: v for k, v in self.tokens.items() if v[1] > now}
        self.tokens[sid] = (token, expires)
        return token, expires

    def forget(self, sid: str) -> None:
        self.tokens.pop(sid, None)
