"""The industry service."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_industry.settings import IndustrySettings

SPEC = ServiceSpec(
    name="industry",
    title="Fangpin industry",
    description="",
)


def create_app(settings: IndustrySettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or IndustrySettings(), clock)
