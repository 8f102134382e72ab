from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from fangpin_common import revisions
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Offset, Year
from fangpin_industry.access import AreaUser, IndustryDep, Manager
from fangpin_industry.projects import service
from fangpin_industry.projects.models import (
    AssetCreate,
    AssetRead,
    FlagClear,
    FlagCreate,
    FlagRead,
    LibraryFigures,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from fangpin_industry.specialties.service import resolve_township
from fangpin_industry.vocabulary import FlagKind, ProjectStatus

router = APIRouter(prefix="/api/v1/projects", tags=["project library"])


def _flag_read(row) -> FlagRead:
    return FlagRead(**(row.model_dump() | {"active": bool(row.active)}), fix_state=None)


@router.post("", status_code=201, response_model=ProjectRead)
async def admit(body: ProjectCreate, session: SessionDep, principal: AreaUser, county: CountyDep,
                config: IndustryDep, clock: ClockDep, response: Response) -> ProjectRead:
    project = await service.create_project(session, body, principal, county, config, clock)
    revisions.set_etag(response, project.revision)
    return await service.read_project(session, project)


@router.get("", response_model=list[ProjectRead])
async def list_projects(session: SessionDep, principal: AreaUser, county: CountyDep,
                        config: IndustryDep, township: str | None = None,
                        status: ProjectStatus | None = None, flag: FlagKind | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100,
                        offset: Offset = 0) -> list[ProjectRead]:
    code = resolve_township(county, township, "township", "query") if township else None
    projects = await service.list_projects(session, principal, config, code, status, flag,
                                           limit, offset)
    return [await service.read_project(session, p) for p in projects]


@router.get("/summary", response_model=list[LibraryFigures])
async def summary(session: SessionDep, principal: AreaUser, county: CountyDep,
                  config: IndustryDep, year: Year | None = None) -> list[LibraryFigures]:
    return await service.library_summary(session, principal, county, config, year)


@router.post("/scan")
async def scan(request: Request, _: Manager, config: IndustryDep) -> dict:
    """Derive problem flags now (the background scanner does it every interval)."""
    ctx = request.app.state.ctx
    async with ctx.db.unit_of_work() as session:
        raised = await service.scan_flags(session, ctx.county, config, ctx.clock)
    return {"flagged": len(raised), "business_date": ctx.clock.today()}


@router.get("/{project_id}", response_model=ProjectRead)
async def get_project(project_id: str, session: SessionDep, principal: AreaUser,
                      config: IndustryDep, response: Response) -> ProjectRead:
    project = await service.get_project(session, project_id, principal, config)
    revisions.set_etag(response, project.revision)
    return await service.read_project(session, project)


@router.patch("/{project_id}", response_model=ProjectRead)
async def update_project(project_id: str, body: ProjectUpdate, session: SessionDep,
                         principal: AreaUser, county: CountyDep, config: IndustryDep,
                         clock: ClockDep, if_match: revisions.IfMatch,
                         response: Response) -> ProjectRead:
    """Based on the revision read (If-Match or `revision`): 412 if the project changed since,
    428 if neither is sent."""
    expected = revisions.expected_revision(if_match, body.revision)
    project = await service.update_project(session, project_id, body, principal, county, config,
                                           clock, expected)
    revisions.set_etag(response, project.revision)
    return await service.read_project(session, project)


@router.post("/{project_id}/flags", status_code=201, response_model=FlagRead)
async def flag(project_id: str, body: FlagCreate, session: SessionDep, principal: Manager,
               county: CountyDep, config: IndustryDep, clock: ClockDep) -> FlagRead:
    row = await service.staff_flag(session, project_id, body, principal, county, config, clock)
    return _flag_read(row).model_copy(update={"fix_state": "open"})


@router.post("/{project_id}/flags/{flag}/clear", response_model=FlagRead)
async def clear(project_id: str, flag: FlagKind, body: FlagClear, session: SessionDep,
                principal: Manager, config: IndustryDep, clock: ClockDep) -> FlagRead:
    row = await service.clear_flag(session, project_id, flag, body, principal, config, clock)
    return _flag_read(row).model_copy(update={"fix_state": "met"})


@router.post("/{project_id}/assets", status_code=201, response_model=AssetRead)
async def register_asset(project_id: str, body: AssetCreate, session: SessionDep,
                         principal: AreaUser, config: IndustryDep,
                         clock: ClockDep) -> AssetRead:
    asset = await service.register_asset(session, project_id, body, principal, config, clock)
    return AssetRead(**asset.model_dump())
