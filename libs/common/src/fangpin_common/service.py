"""The shape every service shares: app factory, lifespan, health, metrics, admin routes.

A service describes itself in a `ServiceSpec` (its routers, what it consumes, which deadline
kinds it scans) and `build_app` does the rest, the same way for all four.
"""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from fangpin_common import migrations
from fangpin_common.auth import Principal, require_roles
from fangpin_common.bus import Bus
from fangpin_common.clock import Clock
from fangpin_common.consumer import Consumer, Subscription
from fangpin_common.county import County, load_county
from fangpin_common.db import Database
from fangpin_common.deadlines import DeadlineEvents, DeadlineScanner
from fangpin_common.errors import install_error_handlers
from fangpin_common.logging import configure_logging, request_id_var
from fangpin_common.metrics import Metrics
from fangpin_common.outbox import Relay
from fangpin_common.settings import ServiceSettings
from fangpin_common.tables import DEAD_LETTERS, OUTBOX
from fangpin_common.tokens import Verifier, follow_revocations

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
                  lease_seconds=settings.relay_lease_seconds)
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
    app.include_router(operations_router())
    for router in spec.routers:
        app.include_router(router)
    return app


# Operators act with a county token.
Operator = Annotated[Principal, Depends(require_roles("county"))]


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

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(request.app.state.metrics.registry),
                        media_type=CONTENT_TYPE_LATEST)

    @router.get("/admin/outbox")
    async def outbox_state(request: Request, _: Operator) -> dict:
        async with request.app.state.db.session() as session:
            count, oldest = (await session.execute(
                select(func.count(), func.min(OUTBOX.c.created_at)))).one()
        return {"pending": count, "oldest_created_at": oldest}

    @router.get("/admin/dead-letters")
    async def dead_letters(request: Request, _: Operator, state: str = "open") -> list[dict]:
        async with request.app.state.db.session() as session:
            rows = await session.execute(select(
                DEAD_LETTERS.c.id, DEAD_LETTERS.c.consumer, DEAD_LETTERS.c.event_id,
                DEAD_LETTERS.c.event_type, DEAD_LETTERS.c.error, DEAD_LETTERS.c.deliveries,
                DEAD_LETTERS.c.state, DEAD_LETTERS.c.created_at, DEAD_LETTERS.c.resolved_at,
            ).where(DEAD_LETTERS.c.state == state).order_by(DEAD_LETTERS.c.id))
            return [dict(r._mapping) for r in rows]

    @router.post("/admin/dead-letters/{dead_letter_id}/replay")
    async def replay(request: Request, dead_letter_id: int, _: Operator) -> dict:
        async with request.app.state.db.session() as session:
            row = (await session.execute(select(DEAD_LETTERS.c.consumer, DEAD_LETTERS.c.state)
                                         .where(DEAD_LETTERS.c.id == dead_letter_id))).first()
        if row is None:
            raise HTTPException(404, detail="没有这条死信")
        if row.state != "open":
            raise HTTPException(409, detail=f"死信已处理（{row.state}）")
        consumer = request.app.state.consumers.get(row.consumer)
        if consumer is None:
            raise HTTPException(409, detail=f"本服务没有消费者 {row.consumer}")
        return {"id": dead_letter_id, "outcome": await consumer.replay(dead_letter_id)}

    @router.post("/admin/deadlines/scan")
    async def scan(request: Request, _: Operator) -> dict:
        return {"emitted": await request.app.state.scanner.scan(),
                "business_date": request.app.state.clock.today()}

    return router
