from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_employment.deps import SCOPED, TownshipOrCounty
from fangpin_employment.jobs import service
from fangpin_employment.jobs.models import (
    ContractCreate,
    PostingCreate,
    PostingRead,
    ProjectCreate,
    UnpaidRow,
    WageRecord,
)

router = APIRouter(prefix="/api/v1", tags=["jobs and services"], dependencies=SCOPED)


@router.post("/jobs", status_code=201, response_model=PostingRead)
async def publish(body: PostingCreate, session: SessionDep, principal: TownshipOrCounty,
                  county: CountyDep, clock: ClockDep) -> PostingRead:
    """Publish an enterprise, gig or internship posting: jobs.published goes out."""
    return PostingRead(**(await service.publish(session, body, principal, county,
                                                clock)).model_dump())


@router.get("/jobs", response_model=list[PostingRead])
async def postings(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                   clock: ClockDep, township: str | None = None, kind: str | None = None,
                   include_closed: bool = False) -> list[PostingRead]:
    rows = await service.postings_for(session, principal, county, clock, township, kind,
                                      include_closed)
    return [PostingRead(**p.model_dump()) for p in rows]


@router.post("/work-relief/projects", status_code=201)
async def create_project(body: ProjectCreate, session: SessionDep, principal: TownshipOrCounty,
                         county: CountyDep, clock: ClockDep) -> dict:
    return (await service.create_project(session, body, principal, county, clock)).model_dump(
        mode="json")


@router.post("/work-relief/projects/{project_id}/contracts", status_code=201)
async def sign(project_id: str, body: ContractCreate, session: SessionDep,
               principal: TownshipOrCounty, clock: ClockDep) -> dict:
    return (await service.sign(session, project_id, body, principal, clock)).model_dump(
        mode="json")


@router.put("/work-relief/contracts/{contract_id}/wages")
async def record_wage(contract_id: str, body: WageRecord, session: SessionDep,
                      principal: TownshipOrCounty, clock: ClockDep) -> dict:
    return (await service.record_wage(session, contract_id, body, principal,
                                      clock)).model_dump(mode="json")


@router.get("/work-relief/projects/{project_id}/unpaid", response_model=list[UnpaidRow])
async def unpaid(project_id: str, session: SessionDep, principal: PrincipalDep) -> list[UnpaidRow]:
    return await service.unpaid(session, project_id, principal)
