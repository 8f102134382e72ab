"""The employment service (就业帮扶, DOMAIN.md E1–E13, annex 3 of the plan).

Its labourers come from monitoring's events (never its API or code); the rest is its own.
"""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.consumer import Subscription
from fangpin_common.service import ServiceContext, ServiceSpec, build_app
from fangpin_employment import schedule
from fangpin_employment.assistance.models import AssistanceItem  # noqa: F401
from fangpin_employment.assistance.router import router as assistance_router
from fangpin_employment.forms.events import DEADLINE_EVENTS as FORM_DEADLINES
from fangpin_employment.forms.models import FormSubmission  # noqa: F401
from fangpin_employment.forms.router import router as forms_router
from fangpin_employment.jobs.router import router as jobs_router
from fangpin_employment.labourers import service as labourers
from fangpin_employment.labourers.router import router as labourers_router
from fangpin_employment.operations import router as operations_router
from fangpin_employment.policy import load_policy
from fangpin_employment.posts.router import router as posts_router
from fangpin_employment.returnees.events import DEADLINE_EVENTS as RETURNEE_DEADLINES
from fangpin_employment.returnees.router import router as returnees_router
from fangpin_employment.settings import EmploymentSettings
from fangpin_employment.sharing.router import router as sharing_router
from fangpin_employment.supervision.router import router as supervision_router
from fangpin_employment.support.router import router as support_router
from fangpin_employment.targets.router import router as targets_router
from fangpin_employment.workinfo.events import DEADLINE_EVENTS as WORK_INFO_DEADLINES
from fangpin_employment.workinfo.router import router as workinfo_router
from fangpin_employment.workshops.router import router as workshops_router


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    return [Subscription(durable="employment-labourers", stream=labourers.MONITORING_STREAM,
                         subjects=list(labourers.CONSUMED), handler=labourers.handle_event)]


SPEC = ServiceSpec(
    name="employment",
    title="Fangpin employment",
    description="就业帮扶：劳动力、务工信息、返乡回流与重点群体、“251”帮扶台账、月报表、"
                "公益性岗位、就业帮扶车间、岗位信息、补贴与培训、督导。",
    routers=[labourers_router, workinfo_router, returnees_router, assistance_router,
             forms_router, targets_router, posts_router, workshops_router, jobs_router,
             support_router, sharing_router, supervision_router, operations_router],
    subscriptions=subscriptions,
    deadline_events=WORK_INFO_DEADLINES | FORM_DEADLINES | RETURNEE_DEADLINES,
    background=[schedule.loop],
)


def create_app(settings: EmploymentSettings | None = None, clock: Clock | None = None) -> FastAPI:
    app = build_app(SPEC, settings or EmploymentSettings(), clock)
    # Refuse a broken policy at start, naming the setting.
    app.state.employment_policy = load_policy(app.state.county)
    return app
