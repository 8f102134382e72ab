from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from fangpin_common import export
from fangpin_common.auth import Principal, require_roles
from fangpin_common.county import County
from fangpin_common.deps import ClockDep, CountyDep, SessionDep
from fangpin_common.errors import DomainError
from fangpin_common.types import Day
from fangpin_monitoring.reports import rules, service
from fangpin_monitoring.reports.models import MonitoringReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Reader = Annotated[Principal, Depends(require_roles("county", "township", "village", "platform"))]
Period = Annotated[str | None, Query(description="统计月份，如 2024-03")]
From = Annotated[Day | None, Query(alias="from", description="起始日期（与 to 同时填写）")]
To = Annotated[Day | None, Query(alias="to", description="截止日期（含）")]


async def _report(session, principal: Principal, county: County, clock, period: str | None,
                  start: date | None, end: date | None) -> MonitoringReport:
    try:
        parsed = rules.parse_period(period, start, end)
    except rules.PeriodProblem as exc:
        raise DomainError(exc.field, exc.message, "invalid_period", location="query") from exc
    return await service.monitoring_report(session, principal, county, parsed, clock.today())


@router.get("/monitoring", response_model=None,
            responses={200: {"model": MonitoringReport,
                             "content": {export.XLSX: {}}}})
async def monitoring(session: SessionDep, principal: Reader, county: CountyDep, clock: ClockDep,
                     period: Period = None, start: From = None, end: To = None,
                     format: Literal["json", "xlsx"] = "json"):
    """Visits, warnings, procedures, open cases by stage and deadlines per township and village
    (M13). Township tokens see their township, village tokens their village."""
    report = await _report(session, principal, county, clock, period, start, end)
    if format == "xlsx":
        return _xlsx(report, county, principal)
    return report


@router.get("/monitoring.xlsx", response_model=None,
            responses={200: {"content": {export.XLSX: {}}}})
async def monitoring_xlsx(session: SessionDep, principal: Reader, county: CountyDep,
                          clock: ClockDep, period: Period = None, start: From = None,
                          end: To = None):
    report = await _report(session, principal, county, clock, period, start, end)
    return _xlsx(report, county, principal)


def _xlsx(report: MonitoringReport, county: County, principal: Principal):
    total = rules.COUNTY_TOTAL if principal.role in ("county", "platform") else rules.TOTAL
    title = f"{county.county.name}防止返贫动态监测帮扶情况统计表（{report.period}）"
    footer = [f"统计日：{report.as_of}；预警为统计期间内发出的预警；"
              "监测对象和识别纳入为统计日状态；期限为统计期间内到期的期限。"]
    rows = [rules.main_cells(r, total) for r in [*report.rows, report.total]]
    deadlines = [line for r in [*report.rows, report.total]
                 for line in rules.deadline_cells(r, total)]
    wb = export.workbook()
    export.add_table_sheet(wb, "监测帮扶情况", title, rules.MAIN_HEADERS, rows, footer,
                           widths=[12, 14] + [11] * (len(rules.MAIN_HEADERS) - 2))
    export.add_table_sheet(wb, "期限完成情况", f"{title}·期限完成情况", rules.DEADLINE_HEADERS,
                           deadlines, footer, widths=[12, 14, 22, 11, 11, 11, 11])
    return export.file_response(export.to_bytes(wb), export.XLSX,
                                f"防返贫监测帮扶情况_{report.period}.xlsx")
