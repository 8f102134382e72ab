"""Data quality (M10): runs, the rule catalogue, anomaly lists (JSON and XLSX), explanations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from fangpin_common import export as files
from fangpin_common.auth import Principal, require_roles
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.types import Page, RowId
from fangpin_monitoring.quality import export, rules, service
from fangpin_monitoring.quality.models import (
    AnomalyPage,
    AnomalyRead,
    ExplainBody,
    QualityRun,
    RuleRead,
    RunCreate,
    RunRead,
)

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])
CountyOnly = Annotated[Principal, Depends(require_roles("county"))]
Reader = Annotated[Principal, Depends(require_roles("county", "township", "village"))]
Explainer = Annotated[Principal, Depends(require_roles("county", "township"))]


def run_read(run: QualityRun) -> RunRead:
    return RunRead.model_validate(run, from_attributes=True)


@router.get("/rules", response_model=list[RuleRead])
async def list_rules(_: Reader) -> list[RuleRead]:
    return [RuleRead(code=r.code, title=r.title, explanation=r.explanation, level=r.level,
                     level_name=rules.LEVEL_NAMES[r.level]) for r in rules.RULES]


@router.post("/runs", status_code=201, response_model=RunRead)
async def start_run(session: SessionDep, principal: CountyOnly, county: CountyDep,
                    clock: ClockDep, body: RunCreate | None = None) -> RunRead:
    """Run all rules (or the chosen ones) now."""
    run = await service.run_checks(session, county, clock, principal, "manual",
                                   body.rules if body else None)
    return run_read(run)


@router.get("/runs", response_model=list[RunRead])
async def list_runs(session: SessionDep, _: Reader,
                    limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunRead]:
    return [run_read(r) for r in await service.list_runs(session, limit)]


@router.get("/runs/{run_id}", response_model=RunRead)
async def get_run(run_id: str, session: SessionDep, _: Reader) -> RunRead:
    return run_read(await service.get_run(session, run_id))



@router.get("/anomalies", response_model=AnomalyPage)
async def list_anomalies(
        session: SessionDep, principal: Reader, county: CountyDep,
        township: str | None = None, village: str | None = None, rule: str | None = None,
        status: str | None = None, page: Page = 1,
        page_size: Annotated[int, Query(ge=1, le=1000)] = 100) -> AnomalyPage:
    """The anomaly list of the caller's area (a township's, a village's), filtered."""
    items, total = await service.list_anomalies(
        session, principal, county, township=township, village=village, rule=rule,
        status=status, page=page, page_size=page_size)
    return AnomalyPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/anomalies.xlsx", response_class=Response,
            responses=files.file_responses(files.XLSX))
async def export_anomalies(session: SessionDep, principal: Reader, county: CountyDep,
                           township: str | None = None, village: str | None = None,
                           rule: str | None = None, status: str | None = None) -> Response:
    code = service.check_filters(county, township, rule, status)
    place = county.township(code).name if code else ""
    content = await export.anomalies_xlsx(service.iter_anomalies(
        session, principal, county, township=township, village=village, rule=rule,
        status=status), f"{place}{village or ''}{export.TITLE}")
    return files.file_response(content, files.XLSX, f"{export.TITLE}.xlsx")


@router.post("/anomalies/{anomaly_id}/explain", response_model=AnomalyRead)
async def explain(anomaly_id: RowId, body: ExplainBody, session: SessionDep,
                  principal: Explainer, county: CountyDep, clock: ClockDep) -> AnomalyRead:
    """Not a problem, or not to be fixed: the reason is kept and later runs leave it be."""
    return await service.explain(session, anomaly_id, body.reason, principal, county, clock)
