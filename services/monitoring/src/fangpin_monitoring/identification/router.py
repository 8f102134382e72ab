from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from fangpin_common.auth import Principal, require_roles
from fangpin_common.authority import authorised
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset
from fangpin_monitoring.identification import service
from fangpin_monitoring.identification.models import (
    IdentificationCreate,
    IdentificationRead,
    PlatformInclusionBatch,
    PlatformInclusionResult,
    StepRecord,
)

router = APIRouter(prefix="/api/v1/identifications", tags=["identification"])
Worker = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Platform = Annotated[Principal, Depends(require_roles("platform"))]
Starter = Annotated[Principal, Depends(authorised("identification.start"))]


@router.post("/platform-inclusions", response_model=list[PlatformInclusionResult])
async def platform_inclusions(body: PlatformInclusionBatch, session: SessionDep,
                              principal: Platform, county: CountyDep,
                              clock: ClockDep) -> list[PlatformInclusionResult]:
    """Households the provincial platform included: cases open with the platform's dates.
    Sending the same batch again changes nothing (created=false)."""
    return await service.platform_inclusions(session, body, principal, county, clock)


@router.post("", status_code=201, response_model=IdentificationRead)
async def start(body: IdentificationCreate, session: SessionDep, principal: Starter,
                county: CountyDep, clock: ClockDep) -> IdentificationRead:
    ident = await service.create(session, body, principal, county, clock)
    return await service.read(session, ident)


@router.post("/{identification_id}/steps", response_model=IdentificationRead)
async def record_step(identification_id: str, body: StepRecord, session: SessionDep,
                      principal: Worker, county: CountyDep,
                      clock: ClockDep) -> IdentificationRead:
    ident = await service.record_step(session, identification_id, body, principal, county, clock)
    return await service.read(session, ident)


@router.get("/{identification_id}", response_model=IdentificationRead)
async def get(identification_id: str, session: SessionDep,
              principal: PrincipalDep) -> IdentificationRead:
    return await service.read(session, await service.get(session, identification_id, principal))


@router.get("", response_model=list[IdentificationRead])
async def list_identifications(
        session: SessionDep, principal: Worker,
        status: Literal["in_progress", "confirmed", "rejected", "superseded"] | None = None,
        township: str | None = None, limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Offset = 0) -> list[IdentificationRead]:
    found = await service.list_identifications(session, principal, status, township, limit,
                                               offset)
    return [await service.read(session, i) for i in found]
