from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Year
from fangpin_employment.deps import SCOPED, CountyStaff, TownshipOrCounty
from fangpin_employment.supervision import service
from fangpin_employment.supervision.models import (
    CheckCreate,
    CheckRead,
    FindingRead,
    QuarterSummary,
    Rectified,
)

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"], dependencies=SCOPED)


@router.post("/checks", status_code=201, response_model=CheckRead)
async def record(body: CheckCreate, session: SessionDep, principal: CountyStaff,
                 county: CountyDep, clock: ClockDep) -> CheckRead:
    """An (unannounced) check of a township by the HR bureau and the group's units."""
    return await service.record(session, body, principal, county, clock)


@router.post("/findings/{finding_id}/rectified", response_model=FindingRead)
async def rectify(finding_id: str, body: Rectified, session: SessionDep,
                  principal: TownshipOrCounty, clock: ClockDep) -> FindingRead:
    return FindingRead(**(await service.rectify(session, finding_id, body, principal,
                                                clock)).model_dump())


@router.get("/summary", response_model=QuarterSummary)
async def summary(session: SessionDep, _: CountyStaff, county: CountyDep, year: Year,
                  quarter: Annotated[int, Query(ge=1, le=4)]) -> QuarterSummary:
    return await service.summary(session, county, year, quarter)
