from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from fangpin_common import revisions
from fangpin_common.auth import Principal, require_roles
from fangpin_common.authority import authorised
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_monitoring.cases import service as cases
from fangpin_monitoring.plans import service
from fangpin_monitoring.plans.models import (
    LabourViolation,
    MeasureCreate,
    MeasureRead,
    MeasureUpdate,
    PlanCreate,
    PlanRead,
)

router = APIRouter(prefix="/api/v1/cases", tags=["plans"])
lists = APIRouter(prefix="/api/v1/plans", tags=["plans"])
Editor = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Planner = Annotated[Principal, Depends(authorised("case.plan"))]
MeasureEditor = Annotated[Principal, Depends(authorised("case.measure"))]


@router.post("/{case_id}/plan", status_code=201, response_model=PlanRead)
async def file_plan(case_id: str, body: PlanCreate, session: SessionDep, principal: Planner,
                    county: CountyDep, clock: ClockDep) -> PlanRead:
    plan = await service.file_plan(session, case_id, body, principal, county, clock)
    return await service.read_plan(session, await cases.get_case(session, plan.case_id,
                                                                 principal), county)


@router.get("/{case_id}/plan", response_model=PlanRead)
async def get_plan(case_id: str, session: SessionDep, principal: PrincipalDep,
                   county: CountyDep) -> PlanRead:
    return await service.read_plan(session, await cases.get_case(session, case_id, principal),
                                   county)


@router.post("/{case_id}/measures", status_code=201, response_model=MeasureRead)
async def add_measure(case_id: str, body: MeasureCreate, session: SessionDep,
                      principal: MeasureEditor, county: CountyDep, clock: ClockDep,
                      response: Response) -> MeasureRead:
    measure = await service.add_measure(session, case_id, body, principal, county, clock)
    revisions.set_etag(response, measure.revision)
    return service.measure_read(measure, county)


@router.patch("/{case_id}/measures/{measure_id}", response_model=MeasureRead)
async def update_measure(case_id: str, measure_id: str, body: MeasureUpdate, session: SessionDep,
                         principal: MeasureEditor, county: CountyDep, clock: ClockDep,
                         if_match: revisions.IfMatch, response: Response) -> MeasureRead:
    """Based on the revision read (If-Match or `revision`): 412 if the measure changed since,
    428 if neither is sent."""
    expected = revisions.expected_revision(if_match, body.revision)
    measure = await service.update_measure(session, case_id, measure_id, body, principal, county,
                                           clock, expected)
    revisions.set_etag(response, measure.revision)
    return service.measure_read(measure, county)


@lists.get("/labour-violations", response_model=list[LabourViolation])
async def labour_violations(session: SessionDep, principal: Editor,
                            township: str | None = None) -> list[LabourViolation]:
    """Per township: open cases whose measures do not fit the household's labour capacity."""
    return await service.labour_violations(session, principal, township)
