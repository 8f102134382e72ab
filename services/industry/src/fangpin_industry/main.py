"""The industry service (产业帮扶): production targets, household industry assistance, the
project library and specialty industries (DOMAIN.md I1–I7)."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.consumer import Subscription
from fangpin_common.events.monitoring import HouseholdUpserted
from fangpin_common.service import ServiceContext, ServiceSpec, build_app
from fangpin_industry.config import load_industry, load_industry_file
from fangpin_industry.households.router import router as households_router
from fangpin_industry.households.service import apply_household_upserted
from fangpin_industry.projects.events import DEADLINE_EVENTS
from fangpin_industry.projects.router import router as projects_router
from fangpin_industry.projects.service import run_scanner
from fangpin_industry.settings import IndustrySettings
from fangpin_industry.specialties.router import router as specialties_router
from fangpin_industry.targets.router import router as targets_router


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    # Households come from monitoring's events into a read model; monitoring is never called.
    return [Subscription(durable="industry-households", stream="FANGPIN_MONITORING",
                         subjects=[HouseholdUpserted.event_type()],
                         handler=apply_household_upserted)]


async def flag_scanner(ctx: ServiceContext) -> None:
    if ctx.settings.run_scanners:
        await run_scanner(ctx, load_industry(ctx.county))


SPEC = ServiceSpec(
    name="industry",
    title="Fangpin industry",
    description="产业帮扶：重要农产品生产目标任务与进度、到户产业帮扶覆盖率、产业项目库"
                "（联农带农、建而不成/成而不用/用而不好）、特色产业。",
    routers=[targets_router, households_router, projects_router, specialties_router],
    subscriptions=subscriptions,
    deadline_events=DEADLINE_EVENTS,
    background=[flag_scanner],
)


def create_app(settings: IndustrySettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or IndustrySettings()
    app = build_app(SPEC, settings, clock)
    # Refuse a broken industry: section at start-up, naming its line.
    app.state.industry = load_industry_file(app.state.county, settings.county_config)
    return app
