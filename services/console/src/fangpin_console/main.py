"""The console service (工作台): accounts, sign-in, token signing, and the pages; it owns no
domain data. It alone holds the signing key; the domain services verify with its JWKS."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangpin_common import migrations
from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_common.tokens import KeySet, Verifier
from fangpin_console.accounts.models import Account, ApiClient  # noqa: F401
from fangpin_console.accounts.router import router as accounts_router
from fangpin_console.accounts.rules import Throttle
from fangpin_console.api import ApiError
from fangpin_console.keys.models import SigningKeyRow  # noqa: F401
from fangpin_console.oauth.router import router as oauth_router
from fangpin_console.pages import PAGE_ROUTERS
from fangpin_console.runtime import Console, KeyCache
from fangpin_console.sessions import rules as session_rules
from fangpin_console.sessions.models import Session
from fangpin_console.settings import ConsoleSettings
from fangpin_console.web import session as web_session
from fangpin_console.web.router import router as web_router
from fangpin_console.web.templating import mount_static, templates

log = logging.getLogger("fangpin.console")

SPEC = ServiceSpec(
    name="console",
    title="Fangpin console",
    description="工作台：账号、登录、令牌签发，以及县、乡、村工作人员使用的页面。",
    routers=[oauth_router, accounts_router, web_router, *PAGE_ROUTERS],
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
        # One connection pool to the domain services for every page the console serves.
        async with httpx.AsyncClient(timeout=settings.api_timeout_seconds) as http:
            app.state.http = http
            async with started(app):
                yield

    app.router.lifespan_context = lifespan
    install_page_errors(app)
    install_server_timing(app)
    return app


def install_server_timing(app: FastAPI) -> None:
    """`Server-Timing: api;dur=…, page;dur=…`: how much of a page's time went to the services'
    APIs (browsers' developer tools show it; bench/console_pages.py reads it)."""

    @app.middleware("http")
    async def server_timing(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        api = getattr(request.state, "api", None)
        if api is not None:
            spent = api.waiting_seconds() * 1000
            total = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = (
                f"api;dur={spent:.2f};desc=\"{len(api.calls)} calls\", page;dur={total:.2f}")
        return response


def install_page_errors(app: FastAPI) -> None:
    """Pages answer errors as pages, in Chinese (the API routes keep their JSON)."""
    default = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def page_error(request: Request, exc: StarletteHTTPException):
        wants_page = "text/html" in request.headers.get("accept", "") or request.headers.get(
            "hx-request")
        if not wants_page:
            return await default(request, exc) if default else HTMLResponse(
                str(exc.detail), exc.status_code)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 \
            else "没有找到这个页面"
        return templates.TemplateResponse(request, "error.html", {"message": message},
                                          status_code=exc.status_code)

    default_invalid = app.exception_handlers.get(RequestValidationError)

    @app.exception_handler(RequestValidationError)
    async def page_input(request: Request, exc: RequestValidationError):
        """A page's link edited by hand (a bad filter, page number …): a Chinese page."""
        if "text/html" not in request.headers.get("accept", "") or request.url.path.startswith(
                ("/api/", "/oauth", "/.well-known")):
            return await default_invalid(request, exc)
        return templates.TemplateResponse(request, "error.html",
                                          {"message": "链接中的参数有误，请从菜单重新进入"},
                                          status_code=422)

    @app.exception_handler(Exception)
    async def page_failure(request: Request, exc: Exception):
        # Logged by the server; the person reads Chinese, never a trace.
        log.exception("page failed", exc_info=exc)
        if "text/html" not in request.headers.get("accept", ""):
            return PlainTextResponse("Internal Server Error", status_code=500)
        return templates.TemplateResponse(request, "error.html",
                                          {"message": "系统出错了，请稍后再试"}, status_code=500)

    @app.exception_handler(ApiError)
    async def service_refused(request: Request, exc: ApiError):
        """A service's refusal (not in your area, not found, unavailable) as a page."""
        if exc.status == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        status = exc.status if exc.status in (403, 404, 409, 412, 422) else 502
        return templates.TemplateResponse(request, "error.html", {"message": exc.message},
                                          status_code=status)

