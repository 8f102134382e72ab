"""Signed access tokens: EdDSA (Ed25519) with a key id (`kid`).

Only the console holds a private key (`SigningKey`); every other service verifies with public
keys (JWKS) — fetched from the console and cached, refetched when a token names a key it does
not know, or given in the settings. An external OIDC provider can take the console's place:
its issuer, its JWKS URL, and the claim naming the unit (`unit_claim`), from which role and
scope follow as they do for the console's own accounts (`unit_principal`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from fangpin_common.auth import Principal
from fangpin_common.county import County
from fangpin_common.settings import ServiceSettings

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
# Asymmetric algorithms only: a symmetric one would let anyone holding a public key sign.
ASYMMETRIC = frozenset({"EdDSA", "ES256", "ES384", "RS256", "RS384", "RS512", "PS256"})


class InvalidToken(Exception):
    """A token that is refused. `reason` is for logs, never for the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @classmethod
    def generate(cls, kid: str | None = None) -> SigningKey:
        return cls(kid or secrets.token_urlsafe(12), Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, kid: str, pem: str) -> SigningKey:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing key is not Ed25519")
        return cls(kid, key)

    def private_pem(self) -> str:
        return self.private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()

    def public_jwk(self) -> dict[str, str]:
        raw = self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                     serialization.PublicFormat.Raw)
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64(raw), "kid": self.kid,
                "alg": ALGORITHM, "use": "sig"}


def jwks_of(keys: list[SigningKey]) -> dict[str, Any]:
    return {"keys": [k.public_jwk() for k in keys]}


def mint(key: SigningKey, principal: Principal, *, issuer: str, ttl: timedelta,
         now: datetime | None = None, sid: str | None = None, audience: str | None = None,
         extra: dict[str, Any] | None = None) -> str:
    """A signed access token for `principal`; `sid` names the session it belongs to."""
    issued = now or datetime.now(UTC)
    claims: dict[str, Any] = principal.model_dump(exclude_none=True) | {
        "iss": issuer, "iat": int(issued.timestamp()),
        "exp": int((issued + ttl).timestamp()), "jti": secrets.token_urlsafe(12)}
    if sid:
        claims["sid"] = sid
    if audience:
        claims["aud"] = audience
    claims |= extra or {}
    return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})


# -- role and scope from the unit ------------------------------------------------------------
def unit_principal(county: County, unit_code: str, sub: str) -> Principal:
    """The role and scope a person of `unit_code` gets: county bureau → county, department →
    department (its grant is named by the unit code), township government → township, village
    committee → village; a paired assistance unit acts in the township or village it is paired
    with. ValueError when the unit is unknown or gives no scope."""
    unit = county.unit(unit_code)
    if unit is None:
        raise ValueError(f"unknown unit {unit_code!r}")
    level = unit.level
    if level == "paired":
        if unit.village:
            level = "village"
        elif unit.township:
            level = "township"
        else:
            raise ValueError(f"paired unit {unit_code!r} names no township or village")
    if level == "county":
        return Principal(sub=sub, role="county", unit=unit.code)
    if level == "department":
        return Principal(sub=sub, role="department", unit=unit.code, department=unit.code)
    if level == "township":
        if not unit.township:
            raise ValueError(f"township unit {unit_code!r} names no township")
        return Principal(sub=sub, role="township", unit=unit.code, township=unit.township)
    if not unit.village:
        raise ValueError(f"village unit {unit_code!r} names no village")
    return Principal(sub=sub, role="village", unit=unit.code, township=unit.township,
                     village=unit.village)


# -- public keys ------------------------------------------------------------------------------
def load_jwks_setting(value: str) -> dict[str, Any]:
    """A JWKS given inline (JSON) or as the path of a file holding one."""
    text = value.strip()
    if not text.startswith("{"):
        text = Path(text).read_text(encoding="utf-8")
    document = json.loads(text)
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("a JWKS is a JSON object with a list `keys`")
    return document


class KeySet:
    """Public keys by kid. Fetched keys are kept `max_age` seconds; an unknown kid triggers a
    refetch, at most once every `min_refetch` seconds (garbage kids cannot flood the source)."""

    def __init__(self, fetch: Callable[[], Awaitable[dict[str, Any]]] | None = None,
                 static: dict[str, Any] | None = None, max_age: float = 300.0,
                 min_refetch: float = 10.0) -> None:
        self._fetch = fetch
        self._keys: dict[str, jwt.PyJWK] = {}
        self._static: dict[str, jwt.PyJWK] = self._parse(static) if static else {}
        self._fetched_at = float("-inf")
        self._attempted_at = float("-inf")
        self._lock = asyncio.Lock()
        self.max_age = max_age
        self.min_refetch = min_refetch

    @staticmethod
    def _parse(document: dict[str, Any]) -> dict[str, jwt.PyJWK]:
        keys: dict[str, jwt.PyJWK] = {}
        for entry in document.get("keys", []):
            if entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                key = jwt.PyJWK(entry)
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                log.warning("JWKS entry skipped", extra={"fields": {"kid": entry.get("kid"),
                                                                    "error": str(exc)}})
                continue
            if key.algorithm_name in ASYMMETRIC:
                keys[entry["kid"]] = key
        return keys

    def cached(self, kid: str) -> jwt.PyJWK | None:
        """The key without any I/O: the hot path of every request."""
        key = self._static.get(kid) or self._keys.get(kid)
        if key is not None and self._fetch is not None and kid not in self._static \
                and time.monotonic() - self._fetched_at > self.max_age:
            return None  # stale: let `get` refetch (a retired key disappears this way)
        return key

    async def get(self, kid: str) -> jwt.PyJWK | None:
        key = self.cached(kid)
        if key is not None or self._fetch is None:
            return key
        async with self._lock:
            key = self.cached(kid)
            if key is not None:
                return key
            if time.monotonic() - self._attempted_at >= self.min_refetch:
                await self.refresh()
        return self._static.get(kid) or self._keys.get(kid)

    async def refresh(self) -> None:
        assert self._fetch is not None
        self._attempted_at = time.monotonic()
        try:
            document = await self._fetch()
        except Exception as exc:  # noqa: BLE001 (keep the keys we have; retry later)
            log.warning("JWKS fetch failed", extra={"fields": {"error": repr(exc)}})
            return
        self._keys = self._parse(document)
        self._fetched_at = time.monotonic()


def http_jwks(url: str, timeout: float = 5.0) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url)
            response.raise_for_status()
            return response.json()

    return fetch


class Revocations:
    """Session ids refused until the tokens minted for them have expired (`session.revoked`)."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def add(self, sid: str, until: datetime) -> None:
        self._until[sid] = until.timestamp()

    def revoked(self, sid: str | None) -> bool:
        if not sid or not self._until:
            return False
        until = self._until.get(sid)
        if until is None:
            return False
        if until < time.time():
            del self._until[sid]
            return False
        return True

    def __len__(self) -> int:
        return len(self._until)


class Verifier:
    """Verifies a bearer token and builds the caller's Principal."""

    def __init__(self, settings: ServiceSettings, keys: KeySet, county: County | None = None,
                 revocations: Revocations | None = None) -> None:
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self.algorithms = [a for a in settings.jwt_algorithms if a in ASYMMETRIC]
        self.unit_claim = settings.unit_claim
        self.leeway = settings.jwt_leeway_seconds
        self.county = county
        self.keys = keys
        self.revocations = revocations or Revocations()
        # Extra checks of the issuing service (the console refuses a session revoked in its
        # own database even before the event comes back).
        self.session_check: Callable[[str], Awaitable[bool]] | None = None
        # Tokens whose signature was checked, by their exact text (a forged one never matches):
        # a session sends the same token for minutes, and the signature check is most of the
        # cost of a request's authentication. Expiry and revocation are checked on every use.
        self._verified: dict[str, tuple[dict[str, Any], Principal | None]] = {}
        self.cache_size = 20_000

    @classmethod
    def from_settings(cls, settings: ServiceSettings, county: County | None = None,
                      keys: KeySet | None = None) -> Verifier:
        if keys is None:
            static = load_jwks_setting(settings.jwks) if settings.jwks else None
            fetch = http_jwks(settings.jwks_url) if settings.jwks_url else None
            keys = KeySet(fetch, static, settings.jwks_cache_seconds,
                          settings.jwks_min_refetch_seconds)
        return cls(settings, keys, county)

    async def claims(self, token: str) -> dict[str, Any]:
        hit = self._verified.get(token)
        if hit is not None:
            claims = hit[0]
            if claims["exp"] + self.leeway <= time.time():
                del self._verified[token]
                raise InvalidToken("expired")
            await self._check_session(claims)
            return claims
        claims = await self._verify(token)
        await self._check_session(claims)
        if len(self._verified) >= self.cache_size:
            self._verified.clear()
        self._verified[token] = (claims, None)
        return claims

    async def _check_session(self, claims: dict[str, Any]) -> None:
        sid = claims.get("sid")
        if self.revocations.revoked(sid):
            raise InvalidToken(f"session {sid} revoked")
        if sid and self.session_check is not None and not await self.session_check(sid):
            raise InvalidToken(f"session {sid} not active")

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed: {exc}") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or header.get("alg") not in self.algorithms:
            raise InvalidToken(f"kid or alg not acceptable: {header!r}")
        key = self.keys.cached(kid) or await self.keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown kid {kid!r}")
        try:
            claims = jwt.decode(
                token, key, algorithms=[key.algorithm_name], issuer=self.issuer,
                audience=self.audience, leeway=self.leeway,
                options={"require": ["exp", "iat", "sub"], "verify_aud": bool(self.audience)})
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        return claims

    async def principal(self, token: str) -> Principal:
        claims = await self.claims(token)
        hit = self._verified.get(token)
        if hit is not None and hit[1] is not None:
            return hit[1]
        principal = self._principal(claims)
        if hit is not None:
            self._verified[token] = (claims, principal)
        return principal

    def _principal(self, claims: dict[str, Any]) -> Principal:
        if self.unit_claim:
            unit = claims.get(self.unit_claim)
            if not isinstance(unit, str) or self.county is None:
                raise InvalidToken(f"claim {self.unit_claim!r} missing")
            try:
                return unit_principal(self.county, unit, str(claims["sub"]))
            except ValueError as exc:
                raise InvalidToken(str(exc)) from exc
        try:
            return Principal.model_validate({k: v for k, v in claims.items()
                                             if k in Principal.model_fields})
        except ValidationError as exc:
            raise InvalidToken(f"claims: {exc.error_count()} errors") from exc


REVOKED_SUBJECT = "fangpin.console.session.revoked"
CONSOLE_STREAM = "FANGPIN_CONSOLE"


async def follow_revocations(bus: Any, revocations: Revocations, settings: ServiceSettings,
                             retry_seconds: float = 2.0) -> None:
    """Keep `revocations` up to date from the console's stream. An ephemeral ordered consumer
    per replica (every replica must hear every revocation), starting one token lifetime back:
    what was revoked before is expired anyway, so nothing has to be stored. Until cancelled."""
    from nats.js.api import ConsumerConfig, DeliverPolicy

    from fangpin_common.events import parse_event
    from fangpin_common.events.console import SessionRevoked

    window = timedelta(minutes=settings.access_token_minutes,
                       seconds=settings.jwt_leeway_seconds + 60)
    await bus.ready.wait()
    delay, warned = retry_seconds, False
    while True:
        sub = None
        try:
            start = datetime.now(UTC) - window
            sub = await bus.js.subscribe(
                REVOKED_SUBJECT, stream=CONSOLE_STREAM, ordered_consumer=True,
                idle_heartbeat=5.0, config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=start))
            delay, warned = retry_seconds, False
            async for msg in sub.messages:
                try:
                    event = parse_event(msg.data)
                except ValidationError:
                    log.warning("unreadable session.revoked event skipped")
                    continue
                if isinstance(event, SessionRevoked):
                    revocations.add(event.data.session_id, event.data.not_after)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 (no console stream yet, NATS down: retry)
            (log.debug if warned else log.info)(
                "session revocations not followed yet", extra={"fields": {"error": repr(exc)}})
            warned = True
        finally:
            if sub is not None:
                try:
                    await sub.unsubscribe()
                except Exception:  # noqa: BLE001
                    pass
        await asyncio.sleep(delay)
        delay = min(delay * 2, 30.0)
