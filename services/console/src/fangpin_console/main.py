"""The console service (工作台): accounts and the pages; it owns no domain data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_console.api import ApiError
from fangpin_console.pages import PAGE_ROUTERS
from fangpin_console.settings import ConsoleSettings
from fangpin_console.web.templating import mount_static, templates

SPEC = ServiceSpec(
    name="console",
    title="Fangpin console",
    description="工作台：账号、登录、令牌签发，以及县、乡、村工作人员使用的页面。",
    routers=PAGE_ROUTERS,
)


def create_app(settings: ConsoleSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ConsoleSettings()
    app = build_app(SPEC, settings, clock)
    mount_static(app)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[None]:
        # One connection pool to the services for every page the console serves.
        async with httpx.AsyncClient(timeout=settings.api_timeout_seconds) as http:
            app_.state.http = http
            async with inner(app_):
                yield

    app.router.lifespan_context = lifespan
    install_page_errors(app)
    return app


def install_page_errors(app: FastAPI) -> None:
    """Pages answer errors as pages, in Chinese (the API routes keep their JSON)."""
    default = app.exception_handlers.get(StarletteHTTPException)

    @app.exception_handler(StarletteHTTPException)
    async def page_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 303 and exc.headers and "Location" in exc.headers:
            if request.headers.get("hx-request"):
                return HTMLResponse("", headers={"HX-Redirect": exc.headers["Location"]})
            return RedirectResponse(exc.headers["Location"], status_code=303)
        if "text/html" not in request.headers.get("accept", "") and not request.headers.get(
                "hx-request"):
            return await default(request, exc) if default else HTMLResponse(str(exc.detail),
                                                                             exc.status_code)
        message = exc.detail if isinstance(exc.detail, str) and exc.status_code != 404 \
            else "没有找到这个页面"
        return templates.TemplateResponse(request, "error.html", {"message": message},
                                          status_code=exc.status_code)

    @app.exception_handler(ApiError)
    async def service_refused(request: Request, exc: ApiError):
        """A service's refusal (not in your area, not found, unavailable) as a page."""
        if exc.status == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        status = exc.status if exc.status in (403, 404, 409, 412, 422) else 502
        return templates.TemplateResponse(request, "error.html", {"message": exc.message},
                                          status_code=status)
