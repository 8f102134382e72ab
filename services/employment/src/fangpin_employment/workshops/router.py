from __future__ import annotations

from fastapi import APIRouter

from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Day, Year
from fangpin_employment.deps import SCOPED, TownshipOrCounty
from fangpin_employment.workshops import rules, service
from fangpin_employment.workshops.models import (
    EmployeeAdd,
    EmployeeLeave,
    SubsidyAdd,
    WorkshopCreate,
    WorkshopRead,
    WorkshopUpdate,
)

router = APIRouter(prefix="/api/v1/workshops", tags=["employment-assistance workshops"],
                   dependencies=SCOPED)


@router.post("", status_code=201, response_model=WorkshopRead)
async def create(body: WorkshopCreate, session: SessionDep, principal: TownshipOrCounty,
                 county: CountyDep, clock: ClockDep) -> WorkshopRead:
    row = await service.create(session, body, principal, county, clock)
    return await service.read(session, row, clock.today())


@router.get("", response_model=list[WorkshopRead])
async def list_workshops(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                         clock: ClockDep, township: str | None = None,
                         on: Day | None = None) -> list[WorkshopRead]:
    rows = await service.list_workshops(session, principal, county, township)
    return [await service.read(session, r, on or clock.today()) for r in rows]


@router.patch("/{workshop_id}", response_model=WorkshopRead)
async def update(workshop_id: str, body: WorkshopUpdate, session: SessionDep,
                 principal: TownshipOrCounty, clock: ClockDep) -> WorkshopRead:
    row = await service.update(session, workshop_id, body, principal, clock)
    return await service.read(session, row, clock.today())


@router.post("/{workshop_id}/employees", status_code=201)
async def hire(workshop_id: str, body: EmployeeAdd, session: SessionDep,
               principal: TownshipOrCounty, clock: ClockDep) -> dict:
    return (await service.hire(session, workshop_id, body, principal, clock)).model_dump(
        mode="json")


@router.post("/employees/{employee_id}/leave")
async def leave(employee_id: str, body: EmployeeLeave, session: SessionDep,
                principal: TownshipOrCounty, clock: ClockDep) -> dict:
    return (await service.leave(session, employee_id, body, principal, clock)).model_dump(
        mode="json")


@router.post("/{workshop_id}/subsidies", status_code=201)
async def grant(workshop_id: str, body: SubsidyAdd, session: SessionDep,
                principal: TownshipOrCounty, clock: ClockDep) -> dict:
    return (await service.grant(session, workshop_id, body, principal, clock)).model_dump(
        mode="json")


@router.get("/{workshop_id}/headcount")
async def headcount(workshop_id: str, session: SessionDep, principal: PrincipalDep,
                    clock: ClockDep, year: Year | None = None) -> dict:
    """脱贫 employees at each month's end: is the workshop's intake of 脱贫 labour stable?"""
    workshop = await service.get(session, workshop_id, principal)
    today = clock.today()
    series = rules.monthly_series(await service.intervals(session, workshop.id),
                                  year or today.year, today)
    return {"workshop_id": workshop.id, "poverty_employees_by_month": dict(series)}
