"""`Idempotency-Key` on POST (IETF draft "The Idempotency-Key HTTP Header Field").

A client whose POST was cut after the commit (it never saw the 201) retries with the same key
and gets the first answer again, status and body, instead of a second household.

- The key is inserted by the request's own unit of work, just before its commit: the effect
  and the key are stored together or not at all, so a retry never applies the effect twice.
- The answer (status, headers, body) is added to that row as it is sent, which happens
  whether or not the client is still connected.
- Keys are scoped by the caller (the token's `sub`) and expire after `idempotency_ttl_hours`.

Answers: same key and same request (method, path, query, body) → the stored answer again;
same key, another request → 422; same key while the first is still running → 409 (in this
process at once; across replicas when the second commit meets the first's row).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fangpin_common.errors import Conflict, translate
from fangpin_common.tables import IDEMPOTENCY_KEYS

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
_HEADER = HEADER.lower().encode()
# The draft's key is an sf-string; clients are told to send a UUID.
_KEY = re.compile(r"[\x21-\x7e]{1,200}")
# Headers of the first answer that a replay does not repeat (framing, per-request ones).
_DROPPED = {"content-length", "date", "server", "x-request-id", "transfer-encoding",
            "connection"}
# An answer body larger than this is not kept: a replay repeats its status and headers only.
MAX_STORED_BODY = 1024 * 1024
STATE_KEY = "idempotency"

REUSED = "此 Idempotency-Key 已用于另一个请求（地址或内容不同），新请求请换一个键"
UNRECORDED = "同一 Idempotency-Key 的请求已处理，原答复尚未保存完毕，请稍后重试"


@dataclass
class Pending:
    """A keyed request under way: what its unit of work writes before committing."""

    caller: str
    key: str
    fingerprint: str
    ttl: timedelta
    stored: bool = False


async def before_commit(state: Any, session: Any) -> None:
    """Called by the unit of work after the handler succeeded, inside its transaction."""
    pending: Pending | None = getattr(state, STATE_KEY, None)
    if pending is None or pending.stored:
        return
    now = datetime.now(UTC)
    try:
        await session.execute(insert(IDEMPOTENCY_KEYS).values(
            caller=pending.caller, key=pending.key, fingerprint=pending.fingerprint,
            created_at=now, expires_at=now + pending.ttl))
    except IntegrityError as exc:
        # Another replica committed this key first: this request's effect rolls back.
        raise Conflict("同一 Idempotency-Key 的请求已在别处处理，请稍后用同一键重试以取得原答复"
                       ) from exc
    pending.stored = True


async def purge_expired(db: Any, now: datetime | None = None) -> int:
    """Forget expired keys (hourly, from the service's housekeeping loop)."""
    async with db.unit_of_work() as session:
        result = await session.execute(delete(IDEMPOTENCY_KEYS).where(
            IDEMPOTENCY_KEYS.c.expires_at <= (now or datetime.now(UTC))))
    return result.rowcount or 0


async def _caller(scope: Scope) -> str | None:
    """The token's subject; None without a valid token (the route then answers 401)."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            try:
                # The app's verifier caches what it verified: the route's own check is free.
                verifier = scope["app"].state.verifier
                return (await verifier.principal(token.strip())).sub[:100]
            except Exception:  # noqa: BLE001  (an invalid token: the route refuses it)
                return None
    return None


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(),
                 scope.get("query_string", b""), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def _json(send: Send, status: int, detail: Any,
                extra: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *extra]})
    await send({"type": "http.response.body", "body": body})


class IdempotencyKeys:
    """Pure ASGI middleware, inside the body limits (the body it reads is already bounded)."""

    def __init__(self, app: ASGIApp, db: Any, settings: Any) -> None:
        self.app = app
        self.db = db
        self.settings = settings
        self.ttl = timedelta(hours=settings.idempotency_ttl_hours)
        self.in_flight: set[tuple[str, str]] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = next((v.decode("latin-1") for n, v in scope.get("headers", ()) if n == _HEADER),
                   None)
        if key is None:
            await self.app(scope, receive, send)
            return
        if not _KEY.fullmatch(key):
            await _json(send, 422, translate([{
                "type": "idempotency_key_invalid", "loc": ("header", HEADER),
                "msg": "Idempotency-Key 应为 1 至 200 个可见 ASCII 字符（建议用 UUID）"}]))
            return
        caller = await _caller(scope)
        if caller is None:
            await self.app(scope, receive, send)
            return

        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        fingerprint = _fingerprint(scope, body)

        row = await self.find(caller, key)
        if row is not None:
            if row.fingerprint != fingerprint:
                await _json(send, 422, translate([{
                    "type": "idempotency_key_reused", "loc": ("header", HEADER),
                    "msg": REUSED}]))
            elif row.status is None:
                await _json(send, 409, UNRECORDED)
            else:
                await self.replay(send, row)
            return
        if (caller, key) in self.in_flight:
            await _json(send, 409, "同一 Idempotency-Key 的请求仍在处理，请稍后用同一键重试")
            return

        pending = Pending(caller, key, fingerprint, self.ttl)
        scope.setdefault("state", {})[STATE_KEY] = pending
        answer: dict[str, Any] = {"body": [], "size": 0}
        sent_body = False

        async def replay_receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [
                    [n.decode("latin-1"), v.decode("latin-1")]
                    for n, v in message.get("headers", ())
                    if n.decode("latin-1").lower() not in _DROPPED]
            elif message["type"] == "http.response.body":
                chunk = message.get("body", b"")
                answer["size"] += len(chunk)
                if answer["size"] <= MAX_STORED_BODY:
                    answer["body"].append(chunk)
                if not message.get("more_body", False) and pending.stored:
                    await self.record(pending, answer)
            try:
                await send(message)
            except OSError:
                pass  # the client is gone: its retry gets the recorded answer

        self.in_flight.add((caller, key))
        try:
            await self.app(scope, replay_receive, capture)
        finally:
            self.in_flight.discard((caller, key))

    async def find(self, caller: str, key: str) -> Any | None:
        now = datetime.now(UTC)
        async with self.db.session() as session:
            row = (await session.execute(select(IDEMPOTENCY_KEYS).where(
                IDEMPOTENCY_KEYS.c.caller == caller, IDEMPOTENCY_KEYS.c.key == key))).first()
        if row is not None and row.expires_at <= now:
            await self.purge(now)
            return None
        return row

    async def purge(self, now: datetime | None = None) -> int:
        return await purge_expired(self.db, now)

    async def record(self, pending: Pending, answer: dict[str, Any]) -> None:
        body = b"".join(answer["body"]) if answer["size"] <= MAX_STORED_BODY else b""
        try:
            async with self.db.unit_of_work() as session:
                await session.execute(update(IDEMPOTENCY_KEYS).where(
                    IDEMPOTENCY_KEYS.c.caller == pending.caller,
                    IDEMPOTENCY_KEYS.c.key == pending.key,
                ).values(status=answer["status"], headers=answer["headers"], body=body))
        except Exception:  # noqa: BLE001  (the effect is committed; a retry then gets 409)
            log.exception("idempotency answer not recorded")

    async def replay(self, send: Send, row: Any) -> None:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in row.headers or ()]
        headers = [(n, v) for n, v in headers if n.lower() != b"content-length"]
        body = row.body or b""
        headers += [(b"content-length", str(len(body)).encode()),
                    (b"idempotency-replayed", b"true")]
        await send({"type": "http.response.start", "status": row.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
