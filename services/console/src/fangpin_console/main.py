"""The console service (工作台): accounts, sign-in, token signing, and the pages; it owns no
domain data. It alone holds the signing key; the domain services verify with its JWKS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI

from fangpin_common import migrations
from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_common.tokens import KeySet, Verifier
from fangpin_console.accounts.models import Account, ApiClient  # noqa: F401
from fangpin_console.accounts.router import router as accounts_router
from fangpin_console.accounts.rules import Throttle
from fangpin_console.keys.models import SigningKeyRow  # noqa: F401
from fangpin_console.oauth.router import router as oauth_router
from fangpin_console.runtime import Console, KeyCache
from fangpin_console.sessions import rules as session_rules
from fangpin_console.sessions.models import Session
from fangpin_console.settings import ConsoleSettings
from fangpin_console.web import session as web_session
from fangpin_console.web.home import router as home_router
from fangpin_console.web.router import router as web_router
from fangpin_console.web.templating import mount_static

SPEC = ServiceSpec(
    name="console",
    title="Fangpin console",
    description="工作台：账号、登录、令牌签发，以及县、乡、村工作人员使用的页面。",
    routers=[oauth_router, accounts_router, web_router, home_router],
)


def create_app(settings: ConsoleSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    app = build_app(SPEC, settings, clock)
    ctx = app.state.ctx
    key_cache = KeyCache(ctx.db, timedelta(hours=settings.signing_key_grace_hours))
    console = app.state.console = Console(settings, ctx.county, ctx.clock, ctx.db, key_cache,
                                          Throttle(settings.sign_in_per_minute))
    # The console verifies its own tokens with its own keys (read from its database), and
    # refuses a session revoked here at once, before its event comes back over NATS.
    verifier = Verifier(settings, KeySet(key_cache.fresh_jwks, max_age=30.0, min_refetch=1.0),
                        ctx.county)

    async def session_alive(sid: str) -> bool:
        async with ctx.db.session() as db:
            row = await db.get(Session, sid)
        return row is not None and session_rules.active(row, console.now(), None)

    verifier.session_check = session_alive
    app.state.verifier = verifier
    web_session.install(app)
    mount_static(app)

    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            await migrations.upgrade(SPEC.name, settings)
        await key_cache.ring()  # a first signing key exists before the first request
        async with started(app):
            yield

    app.router.lifespan_context = lifespan
    return app

