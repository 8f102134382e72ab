"""The employment service."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_employment.settings import EmploymentSettings

SPEC = ServiceSpec(
    name="employment",
    title="Fangpin employment",
    description="",
)


def create_app(settings: EmploymentSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or EmploymentSettings(), clock)
