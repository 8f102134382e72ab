"""The console service (工作台): accounts and the pages; it owns no domain data."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_console.settings import ConsoleSettings

SPEC = ServiceSpec(
    name="console",
    title="Fangpin console",
    description="工作台：账号、登录、令牌签发，以及县、乡、村工作人员使用的页面。",
)


def create_app(settings: ConsoleSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or ConsoleSettings(), clock)
