from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Day, Offset
from fangpin_employment.deps import SCOPED, CountyStaff, Editor, TownshipOrCounty
from fangpin_employment.labourers import service
from fangpin_employment.labourers.models import (
    HelperSet,
    LabourerCreate,
    LabourerRead,
    RebuildReport,
    SituationSet,
)

router = APIRouter(prefix="/api/v1", tags=["labourers"], dependencies=SCOPED)


@router.get("/labourers", response_model=list[LabourerRead])
async def list_labourers(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                         clock: ClockDep, township: str | None = None, village: str | None = None,
                         on: Day | None = None, include_inactive: bool = False,
                         limit: Annotated[int, Query(ge=1, le=1000)] = 200,
                         offset: Offset = 0) -> list[LabourerRead]:
    """Working-age labourers (on `on`, default today) unless include_inactive."""
    day = on or clock.today()
    rows = await service.list_labourers(session, principal, county, day, township, village,
                                        include_inactive, limit, offset)
    return [service.to_read(r, county, day) for r in rows]


@router.post("/labourers", status_code=201, response_model=LabourerRead)
async def add_labourer(body: LabourerCreate, session: SessionDep, principal: TownshipOrCounty,
                       county: CountyDep, clock: ClockDep) -> LabourerRead:
    labourer = await service.add_labourer(session, body, principal, county, clock)
    return service.to_read(labourer, county, clock.today())


@router.get("/labourers/{labourer_id}", response_model=LabourerRead)
async def get_labourer(labourer_id: str, session: SessionDep, principal: PrincipalDep,
                       county: CountyDep, clock: ClockDep) -> LabourerRead:
    labourer = await service.get_labourer(session, labourer_id, principal)
    return service.to_read(labourer, county, clock.today())


@router.put("/labourers/{labourer_id}/situation")
async def set_situation(labourer_id: str, body: SituationSet, session: SessionDep,
                        principal: Editor, clock: ClockDep) -> dict:
    row = await service.set_situation(session, labourer_id, body, principal, clock)
    return row.model_dump(mode="json")


@router.put("/households/{household_id}/helper")
async def set_helper(household_id: str, body: HelperSet, session: SessionDep, principal: Editor,
                     clock: ClockDep) -> dict:
    row = await service.set_helper(session, household_id, body, principal, clock)
    return row.model_dump(mode="json")


@router.post("/admin/labourers/rebuild", response_model=RebuildReport)
async def rebuild(request: Request, _: CountyStaff, force: bool = False) -> RebuildReport:
    """Replay the FANGPIN_MONITORING stream from the start into a fresh read model."""
    state = request.app.state
    await state.bus.ready.wait()
    return await service.rebuild(state.db, state.bus.js, force=force)
