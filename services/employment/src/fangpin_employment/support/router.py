from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_employment.deps import SCOPED, CountyStaff, PolicyDep, TownshipOrCounty
from fangpin_employment.support import rules, service
from fangpin_employment.support.models import ApplicationCreate, ApplicationRead, Decision

router = APIRouter(prefix="/api/v1/support", tags=["subsidies, loans, training"],
                   dependencies=SCOPED)


@router.get("/kinds")
async def kinds() -> dict:
    """The plan's kinds of subsidy, loan and training (E8–E10)."""
    return {k: {"label": v.label, "family": v.family, "subject": v.subject,
                "one_time": v.one_time} for k, v in rules.KINDS.items()}


@router.post("/applications", status_code=201, response_model=ApplicationRead)
async def apply(body: ApplicationCreate, session: SessionDep, principal: TownshipOrCounty,
                county: CountyDep, policy: PolicyDep, clock: ClockDep) -> ApplicationRead:
    return service.to_read(await service.apply(session, body, principal, county, policy, clock))


@router.post("/applications/{application_id}/decision", response_model=ApplicationRead)
async def decide(application_id: str, body: Decision, session: SessionDep,
                 principal: CountyStaff, clock: ClockDep) -> ApplicationRead:
    row = await service.decide(session, application_id, body.action, body.on, body.note,
                               principal, clock)
    return service.to_read(row)


@router.get("/applications", response_model=list[ApplicationRead])
async def applications(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                       kind: str | None = None, status: str | None = None,
                       township: str | None = None) -> list[ApplicationRead]:
    rows = await service.list_applications(session, principal, county, kind, status, township)
    return [service.to_read(r) for r in rows]
