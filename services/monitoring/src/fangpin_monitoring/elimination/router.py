from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from fangpin_common.auth import Principal, require_roles
from fangpin_common.authority import authorised
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_monitoring.elimination import service
from fangpin_monitoring.elimination.models import (
    AssessmentCreate,
    AssessmentRead,
    EliminationRead,
    EliminationStart,
    EliminationStepRecord,
)

router = APIRouter(prefix="/api/v1/cases", tags=["elimination"])
Worker = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Assessor = Annotated[Principal, Depends(authorised("case.assessment"))]
Starter = Annotated[Principal, Depends(authorised("elimination.start"))]


@router.post("/{case_id}/assessments", status_code=201, response_model=AssessmentRead)
async def assess(case_id: str, body: AssessmentCreate, session: SessionDep, principal: Assessor,
                 county: CountyDep, clock: ClockDep) -> AssessmentRead:
    """The risk assessment of a case monitored for half a year."""
    a = await service.assess(session, case_id, body, principal, county, clock)
    return AssessmentRead(**a.model_dump())


@router.get("/{case_id}/assessments", response_model=list[AssessmentRead])
async def assessments(case_id: str, session: SessionDep,
                      principal: PrincipalDep) -> list[AssessmentRead]:
    return [AssessmentRead(**a.model_dump())
            for a in await service.assessments(session, case_id, principal)]


@router.post("/{case_id}/elimination", status_code=201, response_model=EliminationRead)
async def start(case_id: str, body: EliminationStart, session: SessionDep, principal: Starter,
                county: CountyDep, clock: ClockDep) -> EliminationRead:
    """Start risk elimination; 422 names every condition the household does not meet."""
    await service.start(session, case_id, body, principal, county, clock)
    return await service.read(session, case_id, principal)


@router.post("/{case_id}/elimination/steps", response_model=EliminationRead)
async def record_step(case_id: str, body: EliminationStepRecord, session: SessionDep,
                      principal: Worker, county: CountyDep, clock: ClockDep) -> EliminationRead:
    await service.record_step(session, case_id, body, principal, county, clock)
    return await service.read(session, case_id, principal)


@router.get("/{case_id}/elimination", response_model=EliminationRead)
async def get(case_id: str, session: SessionDep, principal: PrincipalDep) -> EliminationRead:
    return await service.read(session, case_id, principal)
