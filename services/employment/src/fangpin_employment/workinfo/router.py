from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from fangpin_common.auth import ensure_reach
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset, Year
from fangpin_employment.deps import SCOPED, Editor, PolicyDep
from fangpin_employment.labourers import service as labourers
from fangpin_employment.workinfo import rules, service
from fangpin_employment.workinfo.models import (
    BatchResult,
    Screening,
    StableCount,
    WorkRecordBatch,
    WorkRecordIn,
    WorkRecordRead,
)

router = APIRouter(prefix="/api/v1/work-info", tags=["work information"], dependencies=SCOPED)


@router.post("", status_code=201, response_model=BatchResult)
async def record(body: WorkRecordIn, session: SessionDep, principal: Editor,
                 clock: ClockDep) -> BatchResult:
    """Enter (or correct) one labourer's work information for one quarter (E4)."""
    return await service.record_work(session, [body], principal, clock, batch=False)


@router.post("/batch", status_code=201, response_model=BatchResult)
async def record_batch(body: WorkRecordBatch, session: SessionDep, principal: Editor,
                       clock: ClockDep) -> BatchResult:
    """Many records at once; one wrong record refuses the whole batch (its index in loc)."""
    return await service.record_work(session, body.records, principal, clock, batch=True)


@router.get("", response_model=list[WorkRecordRead])
async def list_records(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                       year: Year, quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
                       township: str | None = None, labourer_id: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=5000)] = 500,
                       offset: Offset = 0) -> list[WorkRecordRead]:
    rows = await service.list_records(session, principal, county, township, year, quarter,
                                      labourer_id, limit, offset)
    return [WorkRecordRead(**r.model_dump()) for r in rows]


@router.get("/anomalies", response_model=Screening | list[Screening])
async def anomalies(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                    policy: PolicyDep, year: Year, quarter: Annotated[int, Query(ge=1, le=4)],
                    township: str | None = None) -> Screening | list[Screening]:
    """Quarterly screening (E7): the township's list; without a township, every township's
    (county users only)."""
    if township:
        code = labourers.query_township(county, township)
        ensure_reach(principal, code)
        return await service.screen(session, county, policy, code, year, quarter)
    if principal.role == "township":
        return await service.screen(session, county, policy, principal.township, year, quarter)
    if principal.role not in ("county", "platform"):
        ensure_reach(principal, None)  # villages and departments: one township at a time
    return [await service.screen(session, county, policy, t.code, year, quarter)
            for t in county.townships]


@router.get("/stable", response_model=list[StableCount])
async def stable(session: SessionDep, _: PrincipalDep, county: CountyDep, policy: PolicyDep,
                 year: Year) -> list[StableCount]:
    """Labourers in stable employment (>= 6 months in the year, configurable) per township."""
    return await service.stable_counts(session, county, policy, year)


@router.get("/stable/{township}")
async def stable_list(township: str, session: SessionDep, principal: PrincipalDep,
                      county: CountyDep, policy: PolicyDep, year: Year) -> list[dict]:
    code = labourers.resolve_township(county, township, "township", "path")
    ensure_reach(principal, code)
    return await service.stable_labourers(session, policy, year, code)


@router.get("/quarters/current")
async def current_quarter(clock: ClockDep) -> dict:
    year, quarter = rules.quarter_of(clock.today())
    start, end = rules.quarter_bounds(year, quarter)
    return {"year": year, "quarter": quarter, "starts_on": start, "ends_on": end}
