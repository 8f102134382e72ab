from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from fangpin_common import revisions
from fangpin_common.auth import Principal, shown_phone
from fangpin_common.authority import authorised
from fangpin_common.deps import ClockDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset
from fangpin_monitoring.cases import service
from fangpin_monitoring.cases.models import CaseRead, HelperAssign, HelperRead

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
# A case opens only through the county's confirmation of an identification
# (POST /api/v1/identifications/{id}/steps) or a platform inclusion
# (POST /api/v1/identifications/platform-inclusions): there is no route that opens one directly.
HelperAssigner = Annotated[Principal, Depends(authorised("case.helper"))]


@router.post("/{case_id}/helpers", status_code=201, response_model=HelperRead)
async def assign_helper(case_id: str, body: HelperAssign, session: SessionDep,
                        principal: HelperAssigner, clock: ClockDep) -> HelperRead:
    helper = await service.assign_helper(session, case_id, body, principal, clock)
    return HelperRead(**(helper.model_dump() | {"phone": shown_phone(principal, helper.phone)}))


@router.get("/{case_id}", response_model=CaseRead)
async def get_case(case_id: str, session: SessionDep, principal: PrincipalDep,
                   response: Response) -> CaseRead:
    case = await service.get_case(session, case_id, principal)
    revisions.set_etag(response, case.revision)
    return await service.read_case(session, case, principal)


@router.get("", response_model=list[CaseRead])
async def list_cases(session: SessionDep, principal: PrincipalDep, status: str | None = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Offset = 0) -> list[CaseRead]:
    cases = await service.list_cases(session, principal, status, limit, offset)
    return [await service.read_case(session, c, principal) for c in cases]
