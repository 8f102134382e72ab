"""The shape every service shares: app factory, lifespan, health, metrics, admin routes.

A service describes itself in a `ServiceSpec` (its routers, what it consumes, which deadline
kinds it scans) and `build_app` does the rest, the same way for all four.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select, update

from fangpin_common import audit, audit_api, limits, migrations
from fangpin_common.auth import Principal, require_roles
from fangpin_common.bus import Bus
from fangpin_common.clock import Clock
from fangpin_common.consumer import (
    Consumer,
    PoisonMessage,
    Subscription,
    refresh_dead_letter_gauge,
)
from fangpin_common.county import County, load_county
from fangpin_common.db import Database
from fangpin_common.deadlines import DeadlineEvents, DeadlineScanner
from fangpin_common.errors import ERROR_RESPONSES, install_error_handlers
from fangpin_common.idempotency import IdempotencyKeys, purge_expired
from fangpin_common.logging import configure_logging, request_id_var
from fangpin_common.metrics import Metrics
from fangpin_common.outbox import Relay
from fangpin_common.periodic import every
from fangpin_common.settings import ServiceSettings
from fangpin_common.tables import DEAD_LETTERS, OUTBOX, OUTBOX_DEAD_LETTERS
from fangpin_common.tokens import Verifier, follow_revocations
from fangpin_common.types import RowId

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServiceContext:
    """What a service's background work and consumers get: its settings and shared parts."""

    settings: ServiceSettings
    county: County
    clock: Clock
    db: Database
    bus: Bus
    metrics: Metrics


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    title: str
    description: str
    routers: Sequence[APIRouter] = ()
    # What the service consumes, built once its context exists.
    subscriptions: Callable[[ServiceContext], Sequence[Subscription]] = lambda ctx: ()
    deadline_events: Mapping[str, DeadlineEvents] = field(default_factory=dict)
    # Extra background loops (a notifications dispatcher, …), started with the consumers.
    background: Sequence[Callable[[ServiceContext], Awaitable[None]]] = ()


async def stop(tasks: list[asyncio.Task], grace: float) -> None:
    """Cancel the service's loops and wait for them, `grace` seconds at most: a loop that
    does not stop is logged with where it waits, and the shutdown goes on without it."""
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=grace)
    for task in pending:
        where = io.StringIO()
        task.print_stack(file=where)
        log.error("loop did not stop within the shutdown grace period",
                  extra={"fields": {"task": task.get_name(), "stack": where.getvalue()}})


def build_app(spec: ServiceSpec, settings: ServiceSettings, clock: Clock | None = None) -> FastAPI:
    configure_logging(spec.name, settings.log_level)
    metrics = Metrics(spec.name)
    db = Database(settings)
    bus = Bus(settings, metrics)
    clock = clock or Clock(timedelta(days=settings.clock_offset_days))
    relay = Relay(spec.name, db, bus, metrics, batch_size=settings.relay_batch_size,
                  idle_seconds=settings.relay_idle_seconds,
                  lease_seconds=settings.relay_lease_seconds,
                  max_rejections=settings.outbox_max_rejections)
    db.on_outbox_commit.append(relay.wake)
    ctx = ServiceContext(settings, load_county(settings.county_config), clock, db, bus, metrics)
    consumers = {s.durable: Consumer(s, settings, db, bus, metrics, clock)
                 for s in spec.subscriptions(ctx)}
    scanner = DeadlineScanner(spec.name, db, clock, metrics, spec.deadline_events,
                              interval_seconds=settings.scanner_interval_seconds)
    # Tokens are verified with the console's public keys; the console replaces the key set.
    verifier = Verifier.from_settings(settings, ctx.county)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await migrations.upgrade(spec.name, settings)
        bus.start()
        loops: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        if db.sqlite_file:
            loops.append(("WAL checkpoints", db.checkpoints))
        if settings.run_relay:
            loops.append(("relay", relay.run))
        if settings.run_consumers:
            loops.extend((f"consumer {name}", c.run) for name, c in consumers.items())
        if settings.run_scanners and spec.deadline_events:
            loops.append(("deadline scanner", scanner.run))
        if settings.run_scanners:
            loops.append(("idempotency keys purge", lambda: every(
                3600, lambda: purge_expired(db), "purging expired idempotency keys")))
        if settings.run_consumers:
            loops.extend((loop.__name__, lambda loop=loop: loop(ctx)) for loop in spec.background)
        if settings.session_revocations:
            loops.append(("session revocations", lambda: follow_revocations(
                bus, app.state.verifier.revocations, settings)))
        tasks = [asyncio.create_task(run(), name=name) for name, run in loops]
        try:
            yield
        finally:
            await stop(tasks, settings.shutdown_grace_seconds)
            await bus.close()
            await db.dispose()

    app = FastAPI(title=spec.title, description=spec.description, version="1.0.0",
                  lifespan=lifespan)
    app.state.ctx = ctx
    app.state.settings = settings
    app.state.county = ctx.county
    app.state.clock = clock
    app.state.db = db
    app.state.bus = bus
    app.state.metrics = metrics
    app.state.relay = relay
    app.state.consumers = consumers
    app.state.scanner = scanner
    app.state.verifier = verifier

    @app.middleware("http")
    async def request_id(request: Request, call_next):
        rid = request.headers.get("x-request-id") or uuid.uuid4().hex
        token = request_id_var.set(rid)
        try:
            response = await call_next(request)
        finally:
            request_id_var.reset(token)
        response.headers["x-request-id"] = rid
        return response

    app.middleware("http")(metrics.middleware())
    install_error_handlers(app)
    # Every operation declares the shared error answers (one schema, in Chinese).
    app.include_router(operations_router(), responses=ERROR_RESPONSES)
    app.include_router(audit_api.router(), responses=ERROR_RESPONSES)
    for router in spec.routers:
        app.include_router(router, responses=ERROR_RESPONSES)
    # Outermost last: body limits count every byte before anything (idempotency) reads it.
    app.add_middleware(IdempotencyKeys, db=db, settings=settings)
    limits.install(app, json_bytes=settings.max_json_body_bytes,
                   upload_bytes=settings.max_upload_bytes,
                   read_seconds=settings.body_timeout_seconds)
    document_idempotency(app)
    return app


def document_idempotency(app: FastAPI) -> None:
    """The Idempotency-Key header on every POST, in the OpenAPI document."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            for item in schema.get("paths", {}).values():
                post = item.get("post")
                if post is not None:
                    post.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "重试时保持不变的请求键（建议 UUID）：同一键、同一请求只执行一次，"
                   "重试得到第一次的答复；键在 24 小时后失效。",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200,
               "pattern": "^[\\x21-\\x7e]+$"},
}


# Operators act with a county token.
Operator = Annotated[Principal, Depends(require_roles("county"))]

DeadLetterState = Literal["open", "replayed", "discarded", "resolved", "all"]
OutboxDeadLetterState = Literal["open", "resent", "discarded", "all"]


class Closing(BaseModel):
    """Why an operator closes a dead letter without applying it (kept in the row and audit)."""

    reason: str = Field(min_length=1, max_length=1000)


def _payload_view(raw: bytes) -> dict:
    """The raw bytes as an operator can read them: text when it is UTF-8, else base64."""
    try:
        return {"payload": raw.decode("utf-8"), "payload_encoding": "utf-8"}
    except UnicodeDecodeError:
        return {"payload": base64.b64encode(raw).decode(), "payload_encoding": "base64"}


async def refresh_gauges(app: FastAPI) -> None:
    """Dead-letter and outbox gauges read from the tables (bounded: a scrape must answer)."""
    state = app.state
    try:
        await asyncio.wait_for(asyncio.gather(
            refresh_dead_letter_gauge(state.db, state.metrics, state.settings.service_name,
                                      list(state.consumers)),
            state.relay._update_gauges()), 5)
    except Exception as exc:  # the last values stay; /readyz tells about the database
        log.warning("gauges not refreshed", extra={"fields": {"error": repr(exc)}})


DEAD_LETTER_COLUMNS = (
    DEAD_LETTERS.c.id, DEAD_LETTERS.c.consumer, DEAD_LETTERS.c.message_key,
    DEAD_LETTERS.c.stream, DEAD_LETTERS.c.stream_seq, DEAD_LETTERS.c.msg_id,
    DEAD_LETTERS.c.subject, DEAD_LETTERS.c.event_id, DEAD_LETTERS.c.event_type,
    DEAD_LETTERS.c.error, DEAD_LETTERS.c.deliveries, DEAD_LETTERS.c.state,
    DEAD_LETTERS.c.created_at, DEAD_LETTERS.c.resolved_at, DEAD_LETTERS.c.resolved_by,
    DEAD_LETTERS.c.note, func.length(DEAD_LETTERS.c.payload).label("size"),
)
OUTBOX_DEAD_LETTER_COLUMNS = (
    OUTBOX_DEAD_LETTERS.c.id, OUTBOX_DEAD_LETTERS.c.event_type, OUTBOX_DEAD_LETTERS.c.created_at,
    OUTBOX_DEAD_LETTERS.c.attempts, OUTBOX_DEAD_LETTERS.c.error, OUTBOX_DEAD_LETTERS.c.dead_at,
    OUTBOX_DEAD_LETTERS.c.state, OUTBOX_DEAD_LETTERS.c.resolved_at,
    OUTBOX_DEAD_LETTERS.c.resolved_by, OUTBOX_DEAD_LETTERS.c.note,
    func.length(OUTBOX_DEAD_LETTERS.c.payload).label("size"),
)


def operations_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    async def healthz() -> dict:
        return {"status": "alive"}

    @router.get("/readyz")
    async def readyz(request: Request) -> JSONResponse:
        state = request.app.state
        checks = {"database": await state.db.ping(), "nats": state.bus.connected}
        ok = all(checks.values())
        return JSONResponse({"ready": ok, "checks": checks}, status_code=200 if ok else 503)

    @router.get("/metrics", response_class=Response, responses={200: {
        "description": "Prometheus 指标（文本格式）",
        "content": {"text/plain": {"schema": {"type": "string"}}}}})
    async def metrics(request: Request) -> Response:
        await refresh_gauges(request.app)
        return Response(generate_latest(request.app.state.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @router.get("/admin/outbox")
    async def outbox_state(request: Request, _: Operator) -> dict:
        async with request.app.state.db.session() as session:
            count, oldest = (await session.execute(
                select(func.count(), func.min(OUTBOX.c.created_at)))).one()
            dead = (await session.execute(
                select(func.count()).select_from(OUTBOX_DEAD_LETTERS)
                .where(OUTBOX_DEAD_LETTERS.c.state == "open"))).scalar_one()
        return {"pending": count, "oldest_created_at": oldest, "dead_letters": dead}

    # -- consumer dead letters ----------------------------------------------------------------
    @router.get("/admin/dead-letters")
    async def dead_letters(request: Request, _: Operator, state: DeadLetterState = "open",
                           consumer: str | None = None) -> list[dict]:
        query = select(*DEAD_LETTER_COLUMNS).order_by(DEAD_LETTERS.c.id)
        if state != "all":
            query = query.where(DEAD_LETTERS.c.state == state)
        if consumer is not None:
            query = query.where(DEAD_LETTERS.c.consumer == consumer)
        async with request.app.state.db.session() as session:
            return [dict(r._mapping) for r in await session.execute(query)]

    @router.get("/admin/dead-letters/{dead_letter_id}")
    async def dead_letter(request: Request, dead_letter_id: RowId, _: Operator) -> dict:
        async with request.app.state.db.session() as session:
            row = (await session.execute(select(
                *DEAD_LETTER_COLUMNS, DEAD_LETTERS.c.headers, DEAD_LETTERS.c.payload,
            ).where(DEAD_LETTERS.c.id == dead_letter_id))).first()
        if row is None:
            raise HTTPException(404, detail="没有这条死信")
        found = dict(row._mapping)
        return found | _payload_view(found.pop("payload"))

    async def open_dead_letter(request: Request, dead_letter_id: RowId):
        async with request.app.state.db.session() as session:
            row = (await session.execute(select(DEAD_LETTERS.c.consumer, DEAD_LETTERS.c.state)
                                         .where(DEAD_LETTERS.c.id == dead_letter_id))).first()
        if row is None:
            raise HTTPException(404, detail="没有这条死信")
        if row.state != "open":
            raise HTTPException(409, detail=f"死信已处理（{row.state}）")
        return row

    @router.post("/admin/dead-letters/{dead_letter_id}/replay")
    async def replay(request: Request, dead_letter_id: RowId, who: Operator) -> dict:
        row = await open_dead_letter(request, dead_letter_id)
        consumer = request.app.state.consumers.get(row.consumer)
        if consumer is None:
            raise HTTPException(409, detail=f"本服务没有消费者 {row.consumer}")
        try:
            outcome = await consumer.replay(dead_letter_id, actor=who.sub)
        except PoisonMessage as exc:
            raise HTTPException(422, detail=f"这条死信仍不是可识别的事件，无法重放：{exc}。"
                                            f"请丢弃（discard）或标记为已处理（resolve）") from None
        except Exception as exc:
            raise HTTPException(409, detail=f"重放时处理再次失败，死信仍待处理：{exc!r}"[:2000]
                                ) from None
        await audit_closed(request, who, "dead_letter", dead_letter_id, "replay", "replayed",
                           None)
        return {"id": dead_letter_id, "outcome": outcome}

    async def close_dead_letter(request: Request, dead_letter_id: RowId, who: Principal,
                                action: str, state: str, reason: str) -> dict:
        await open_dead_letter(request, dead_letter_id)
        app = request.app
        now = app.state.clock.now()
        async with app.state.db.unit_of_work() as session:
            done = await session.execute(
                update(DEAD_LETTERS)
                .where(DEAD_LETTERS.c.id == dead_letter_id, DEAD_LETTERS.c.state == "open")
                .values(state=state, resolved_at=now, resolved_by=who.sub, note=reason))
            if done.rowcount != 1:  # closed by someone else meanwhile
                raise HTTPException(409, detail="死信已被他人处理")
            await audit.record(session, who, entity_type="dead_letter",
                               entity_id=str(dead_letter_id), action=action,
                               before={"state": "open"}, after={"state": state, "note": reason},
                               now=now)
        await refresh_gauges(app)
        return {"id": dead_letter_id, "state": state}

    async def audit_closed(request: Request, who: Principal, entity_type: str, entity_id: int,
                           action: str, state: str, reason: str | None) -> None:
        app = request.app
        async with app.state.db.unit_of_work() as session:
            await audit.record(session, who, entity_type=entity_type, entity_id=str(entity_id),
                               action=action, before={"state": "open"},
                               after={"state": state, "note": reason}, now=app.state.clock.now())

    @router.post("/admin/dead-letters/{dead_letter_id}/discard")
    async def discard(request: Request, dead_letter_id: RowId, body: Closing,
                      who: Operator) -> dict:
        """Close a dead letter without applying it (its effect is given up, with a reason)."""
        return await close_dead_letter(request, dead_letter_id, who, "discard", "discarded",
                                       body.reason)

    @router.post("/admin/dead-letters/{dead_letter_id}/resolve")
    async def resolve(request: Request, dead_letter_id: RowId, body: Closing,
                      who: Operator) -> dict:
        """Close a dead letter whose effect was brought about another way."""
        return await close_dead_letter(request, dead_letter_id, who, "resolve", "resolved",
                                       body.reason)

    # -- producer dead letters (outbox rows that could not be published) ----------------------
    @router.get("/admin/outbox/dead-letters")
    async def outbox_dead_letters(request: Request, _: Operator,
                                  state: OutboxDeadLetterState = "open") -> list[dict]:
        query = select(*OUTBOX_DEAD_LETTER_COLUMNS).order_by(OUTBOX_DEAD_LETTERS.c.dead_at,
                                                             OUTBOX_DEAD_LETTERS.c.id)
        if state != "all":
            query = query.where(OUTBOX_DEAD_LETTERS.c.state == state)
        async with request.app.state.db.session() as session:
            return [dict(r._mapping) for r in await session.execute(query)]

    async def open_outbox_dead_letter(session, event_id: str):
        row = (await session.execute(select(OUTBOX_DEAD_LETTERS)
                                     .where(OUTBOX_DEAD_LETTERS.c.id == event_id))).first()
        if row is None:
            raise HTTPException(404, detail="没有这条未发布事件")
        if row.state != "open":
            raise HTTPException(409, detail=f"这条未发布事件已处理（{row.state}）")
        return row

    @router.post("/admin/outbox/dead-letters/{event_id}/resend")
    async def resend(request: Request, event_id: str, who: Operator) -> dict:
        """Put the event back into the outbox (after the cause, e.g. a limit, was fixed)."""
        app = request.app
        limit = app.state.settings.event_max_bytes
        now = app.state.clock.now()
        async with app.state.db.unit_of_work() as session:
            row = await open_outbox_dead_letter(session, event_id)
            if len(row.payload) > limit:
                raise HTTPException(422, detail=f"事件有 {len(row.payload)} 字节，仍超过上限 "
                                                f"{limit} 字节，重发也无法发布；请丢弃（discard）")
            moved = await session.execute(
                update(OUTBOX_DEAD_LETTERS)
                .where(OUTBOX_DEAD_LETTERS.c.id == event_id,
                       OUTBOX_DEAD_LETTERS.c.state == "open")
                .values(state="resent", resolved_at=now, resolved_by=who.sub))
            if moved.rowcount != 1:
                raise HTTPException(409, detail="这条未发布事件已被他人处理")
            at = _now_utc()
            # The same id: Nats-Msg-Id, so a copy JetStream did keep is not stored twice.
            await session.execute(insert(OUTBOX).values(
                id=row.id, event_type=row.event_type, payload=row.payload, created_at=at,
                available_at=at, attempts=0))
            await audit.record(session, who, entity_type="outbox_dead_letter", entity_id=event_id,
                               action="resend", before={"state": "open"},
                               after={"state": "resent"}, now=now)
        app.state.relay.wake()
        await refresh_gauges(app)
        return {"id": event_id, "state": "resent"}

    @router.post("/admin/outbox/dead-letters/{event_id}/discard")
    async def discard_unpublished(request: Request, event_id: str, body: Closing,
                                  who: Operator) -> dict:
        """Give up publishing the event (other services never learn of it: say why)."""
        app = request.app
        now = app.state.clock.now()
        async with app.state.db.unit_of_work() as session:
            await open_outbox_dead_letter(session, event_id)
            done = await session.execute(
                update(OUTBOX_DEAD_LETTERS)
                .where(OUTBOX_DEAD_LETTERS.c.id == event_id,
                       OUTBOX_DEAD_LETTERS.c.state == "open")
                .values(state="discarded", resolved_at=now, resolved_by=who.sub,
                        note=body.reason))
            if done.rowcount != 1:
                raise HTTPException(409, detail="这条未发布事件已被他人处理")
            await audit.record(session, who, entity_type="outbox_dead_letter", entity_id=event_id,
                               action="discard", before={"state": "open"},
                               after={"state": "discarded", "note": body.reason}, now=now)
        await refresh_gauges(app)
        return {"id": event_id, "state": "discarded"}

    @router.post("/admin/deadlines/scan")
    async def scan(request: Request, _: Operator) -> dict:
        return {"emitted": await request.app.state.scanner.scan(),
                "business_date": request.app.state.clock.today()}

    return router


def _now_utc() -> datetime:
    # Outbox times are wall-clock (the relay's leases), never the business clock.
    return datetime.now(UTC)
