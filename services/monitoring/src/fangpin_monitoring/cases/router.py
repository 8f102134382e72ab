from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset
from fangpin_monitoring.cases import service
from fangpin_monitoring.cases.models import CaseCreate, CaseRead, HelperAssign, HelperRead

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
Editor = Annotated[Principal, Depends(require_roles("county", "township", "village", "platform"))]


@router.post("", status_code=201, response_model=CaseRead)
async def open_case(body: CaseCreate, session: SessionDep, principal: Editor, county: CountyDep,
                    clock: ClockDep) -> CaseRead:
    case = await service.open_case(session, body, principal, county, clock)
    return await service.read_case(session, case)


@router.post("/{case_id}/helpers", status_code=201, response_model=HelperRead)
async def assign_helper(case_id: str, body: HelperAssign, session: SessionDep, principal: Editor,
                        clock: ClockDep) -> HelperRead:
    helper = await service.assign_helper(session, case_id, body, principal, clock)
    return HelperRead(**helper.model_dump())


@router.get("/{case_id}", response_model=CaseRead)
async def get_case(case_id: str, session: SessionDep, principal: PrincipalDep) -> CaseRead:
    return await service.read_case(session, await service.get_case(session, case_id, principal))


@router.get("", response_model=list[CaseRead])
async def list_cases(session: SessionDep, principal: PrincipalDep, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Offset = 0) -> list[CaseRead]:
    cases = await service.list_cases(session, principal, status, limit, offset)
    return [await service.read_case(session, c) for c in cases]
