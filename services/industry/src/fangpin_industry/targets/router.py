from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from fangpin_common import export
from fangpin_common.deps import ClockDep, CountyDep, PrincipalDep, SessionDep
from fangpin_industry.access import IndustryDep
from fangpin_industry.targets import service
from fangpin_industry.targets.export import progress_workbook
from fangpin_industry.targets.models import ReportCreate, ReportRead, TargetProgress, TargetRead

router = APIRouter(prefix="/api/v1/targets", tags=["targets"])
AsOf = Annotated[str | None, Query(description="截至报告期，如 2024-06 或 2024-Q2")]


@router.get("", response_model=list[TargetRead])
async def list_targets(principal: PrincipalDep, county: CountyDep,
                       config: IndustryDep) -> list[TargetRead]:
    return [service.to_target_read(county, t)
            for t in service.visible_targets(principal, county, config)]


@router.get("/progress", response_model=list[TargetProgress])
async def progress(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                   config: IndustryDep, as_of: AsOf = None) -> list[TargetProgress]:
    return await service.progress(session, principal, county, config, as_of)


@router.get("/progress.xlsx", response_class=Response,
            responses=export.file_responses(export.XLSX))
async def progress_xlsx(session: SessionDep, principal: PrincipalDep, county: CountyDep,
                        config: IndustryDep, as_of: AsOf = None) -> Response:
    rows = await service.progress(session, principal, county, config, as_of)
    title = f"{county.county.name}{config.year}年重要农产品生产目标任务完成情况" + (
        f"（截至{as_of}）" if as_of else "")
    return export.file_response(progress_workbook(rows, title), export.XLSX, f"{title}.xlsx")


@router.post("/{code}/reports", status_code=201, response_model=ReportRead)
async def report(code: str, body: ReportCreate, session: SessionDep, principal: PrincipalDep,
                 county: CountyDep, config: IndustryDep, clock: ClockDep) -> ReportRead:
    row = await service.record_report(session, code, body, principal, county, config, clock)
    return service.to_report_read(county, row)


@router.get("/{code}/reports", response_model=list[ReportRead])
async def reports(code: str, session: SessionDep, principal: PrincipalDep, county: CountyDep,
                  config: IndustryDep) -> list[ReportRead]:
    return [service.to_report_read(county, r)
            for r in await service.list_reports(session, code, principal, county, config)]
