"""The monitoring service (防贫监测帮扶): households, cases, deadlines (DOMAIN.md M1–M13)."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.service import ServiceSpec, build_app
from fangpin_monitoring.campaigns.events import DEADLINE_EVENTS as CAMPAIGN_DEADLINES
from fangpin_monitoring.campaigns.router import router as campaigns_router
from fangpin_monitoring.cases.events import DEADLINE_EVENTS
from fangpin_monitoring.cases.router import router as cases_router
from fangpin_monitoring.changes import models as _changes_models  # noqa: F401  (its table)
from fangpin_monitoring.elimination.router import router as elimination_router
from fangpin_monitoring.households.router import router as households_router
from fangpin_monitoring.identification.events import DEADLINE_EVENTS as IDENTIFICATION_DEADLINES
from fangpin_monitoring.identification.router import router as identification_router
from fangpin_monitoring.imports.router import router as imports_router
from fangpin_monitoring.income.events import DEADLINE_EVENTS as INCOME_DEADLINES
from fangpin_monitoring.income.router import router as income_router
from fangpin_monitoring.plans.router import lists as plan_lists_router
from fangpin_monitoring.plans.router import router as plans_router
from fangpin_monitoring.platform.router import router as platform_router
from fangpin_monitoring.quality.jobs import scheduled_quality_runs
from fangpin_monitoring.quality.router import router as quality_router
from fangpin_monitoring.reports.router import router as reports_router
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_monitoring.visits.events import DEADLINE_EVENTS as VISIT_DEADLINES
from fangpin_monitoring.visits.jobs import open_visit_deadlines_daily
from fangpin_monitoring.visits.router import router as visits_router
from fangpin_monitoring.warnings.events import DEADLINE_EVENTS as WARNING_DEADLINES
from fangpin_monitoring.warnings.router import router as warnings_router

SPEC = ServiceSpec(
    name="monitoring",
    title="Fangpin monitoring",
    description="防止返贫动态监测和帮扶：农户、监测对象、帮扶责任人与期限。",
    # The import router first: its paths sit under /api/v1/households.
    routers=[imports_router, households_router, cases_router, platform_router, visits_router,
             warnings_router, identification_router, plans_router, plan_lists_router,
             income_router, elimination_router, campaigns_router, reports_router,
             quality_router],
    deadline_events=DEADLINE_EVENTS | VISIT_DEADLINES | WARNING_DEADLINES
    | IDENTIFICATION_DEADLINES | INCOME_DEADLINES | CAMPAIGN_DEADLINES,
    background=[open_visit_deadlines_daily, scheduled_quality_runs],
)


def create_app(settings: MonitoringSettings | None = None, clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or MonitoringSettings(), clock)
