from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from fangpin_common import audit, revisions
from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.errors import DomainError
from fangpin_common.types import Day, Offset
from fangpin_monitoring.households.service import resolve_township
from fangpin_monitoring.visits import rules, service
from fangpin_monitoring.visits.models import (
    CoverageReport,
    GridAreaCreate,
    GridAreaRead,
    GridAreaUpdate,
    LeafletReport,
    OpenDeadlinesResult,
    VisitCreate,
    VisitRead,
)

router = APIRouter(tags=["visits"])
Local = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Operator = Annotated[Principal, Depends(require_roles("county"))]


@router.post("/api/v1/grid-areas", status_code=201, response_model=GridAreaRead)
async def create_area(body: GridAreaCreate, session: SessionDep, principal: Local,
                      county: CountyDep, clock: ClockDep) -> GridAreaRead:
    return await service.create_area(session, body, principal, county, clock)


@router.get("/api/v1/grid-areas", response_model=list[GridAreaRead])
async def list_areas(session: SessionDep, principal: Local,
                     village: str | None = None) -> list[GridAreaRead]:
    areas = await service.list_areas(session, principal, village)
    await audit.full_read(session, principal, "grid_area",
                          [a.id for a in areas if a.worker_phone], "worker_phone")
    return areas


@router.get("/api/v1/grid-areas/{area_id}", response_model=GridAreaRead)
async def get_area(area_id: str, session: SessionDep, principal: Local,
                   response: Response) -> GridAreaRead:
    area, members = await service.get_area(session, area_id, principal)
    revisions.set_etag(response, area.revision)
    if area.worker_phone:
        await audit.full_read(session, principal, "grid_area", [area.id], "worker_phone")
    return service.read_area(area, members, principal)


@router.put("/api/v1/grid-areas/{area_id}", response_model=GridAreaRead)
async def update_area(area_id: str, body: GridAreaUpdate, session: SessionDep, principal: Local,
                      county: CountyDep, clock: ClockDep, if_match: revisions.IfMatch,
                      response: Response) -> GridAreaRead:
    """A full replacement based on the revision read (If-Match or `revision`): 412 if the
    area changed since, 428 if neither is sent."""
    expected = revisions.expected_revision(if_match, body.revision)
    area = await service.update_area(session, area_id, body, principal, county, clock, expected)
    revisions.set_etag(response, area.revision)
    return area


@router.delete("/api/v1/grid-areas/{area_id}", status_code=204)
async def delete_area(area_id: str, session: SessionDep, principal: Local, clock: ClockDep,
                      if_match: revisions.IfMatch) -> Response:
    """Based on the revision read (If-Match): 412 if the area changed since."""
    await service.delete_area(session, area_id, principal, clock,
                              revisions.expected_revision(if_match, None))
    return Response(status_code=204)


@router.post("/api/v1/visits", status_code=201, response_model=VisitRead)
async def record_visit(body: VisitCreate, session: SessionDep, principal: Local,
                       clock: ClockDep) -> VisitRead:
    """A visit into the ledger: meets the household's monthly and Q1 visit deadlines."""
    return await service.record_visit(session, body, principal, clock)


@router.get("/api/v1/visits", response_model=list[VisitRead])
async def list_visits(session: SessionDep, principal: Local, household_id: str | None = None,
                      village: str | None = None, since: Day | None = None,
                      until: Day | None = None,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Offset = 0) -> list[VisitRead]:
    return await service.list_visits(session, principal, household_id, village, since, until,
                                      limit, offset)


@router.get("/api/v1/visits/coverage", response_model=CoverageReport)
async def coverage(session: SessionDep, principal: Local, county: CountyDep,
                   period: Annotated[str, Query(description="月度走访 2024-04；一季度遍访 2024Q1")],
                   level: Literal["village", "township"] = "village",
                   township: str | None = None) -> CoverageReport:
    """Visited / due per village or township, for a month's grid visits or the Q1 full visit."""
    try:
        parsed = rules.parse_period(period)
    except ValueError as exc:
        raise DomainError("period", str(exc), "invalid_period", location="query") from exc
    return await service.coverage(session, principal, parsed, level, _township(county, township))


@router.get("/api/v1/visits/leaflet-coverage", response_model=LeafletReport)
async def leaflet_coverage(session: SessionDep, principal: Local, county: CountyDep,
                           year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                           township: str | None = None) -> LeafletReport:
    """Households told the policy 明白纸 at a visit, per village (M2)."""
    return await service.leaflet_coverage(session, principal, year, _township(county, township))


def _township(county, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return resolve_township(county, value)
    except DomainError as exc:
        raise DomainError("township", exc.message, exc.code, location="query") from exc


@router.get("/api/v1/visits/{visit_id}", response_model=VisitRead)
async def get_visit(visit_id: str, session: SessionDep, principal: Local) -> VisitRead:
    return await service.get_visit(session, visit_id, principal)


@router.post("/admin/visits/open-deadlines", response_model=OpenDeadlinesResult)
async def open_deadlines(session: SessionDep, _: Operator, county: CountyDep, clock: ClockDep,
                         month: Annotated[str | None, Query(
                             description="如 2024-05；默认本月和下月")]
                         = None) -> OpenDeadlinesResult:
    """The daily job by hand: opens missing visit deadlines (idempotent)."""
    months = None
    if month is not None:
        try:
            period = rules.parse_period(month)
        except ValueError as exc:
            raise DomainError("month", str(exc), "invalid_month", location="query") from exc
        if period.kind != rules.MONTHLY:
            raise DomainError("month", "请填写月份，如 2024-05", "invalid_month", location="query")
        months = [period.start]
    return await service.open_deadlines(session, county, clock, months)
