from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from fangpin_console import labels
from fangpin_console.pages.kit import ApiDep, passed_on, render
from fangpin_console.pages.reports import service
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)
SCOPES = {"year": "本年以来", "month": "本月"}


@router.get("/reports/overdue")
async def overdue(request: Request, api: ApiDep, scope: Literal["year", "month"] = "year"):
    """报表: deadlines overdue by township, as a chart with its table."""
    params = service.period_params(scope, request.app.state.clock.today())
    report = await api.get("monitoring", "/api/v1/reports/monitoring", **params)
    person = request.state.signed_in
    # A township's (or village's) report covers its own township only.
    order = [t for t in labels.townships(request.app.state.settings.county_config)
             if person.role == "county" or t[0] == person.township]
    townships, total, kinds = service.overdue_by_township(report, order)
    return render(request, "reports/overdue.html", townships=townships, total=total,
                  kinds=kinds, chart=service.chart_data(townships, kinds), report=report,
                  scope=scope, scopes=SCOPES)


@router.get("/reports/overdue.xlsx")
async def overdue_xlsx(request: Request, api: ApiDep, scope: Literal["year", "month"] = "year"):
    params = service.period_params(scope, request.app.state.clock.today())
    return passed_on(await api.download("monitoring", "/api/v1/reports/monitoring.xlsx",
                                        **params))
