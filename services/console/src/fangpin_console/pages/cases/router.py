from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from fangpin_console import labels
from fangpin_console.api import ApiError
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.households.service import CASE_STATUS
from fangpin_console.pages.kit import ApiDep, household_label, households_by_id, render
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)
DEADLINE_STATES = {"open": "未到期", "met": "已完成", "overdue": "已逾期"}


@router.get("/cases")
async def cases(request: Request, api: ApiDep, status: str = "open", helper: str = ""):
    """Cases (监测帮扶); `helper=none` lists those still waiting for a helper."""
    found = await api.get("monitoring", "/api/v1/cases",
                          status=None if status == "all" else status, limit=500)
    if helper == "none":
        found = [c for c in found if not c["helpers"]]
    households = await households_by_id(api, (c["household_id"] for c in found),
                                        ((c["township"], c["village"]) for c in found))
    rows = [(c, household_label(request, households.get(c["household_id"]))) for c in found]
    return render(request, "cases/list.html", rows=rows, status=status, helper=helper,
                  statuses=CASE_STATUS)


async def _page(request: Request, api, case_id: str, values: dict, errors: dict,
                message: str | None = None, notice: str | None = None, status_code: int = 200):
    case = await api.get("monitoring", f"/api/v1/cases/{case_id}")
    households = await households_by_id(api, [case["household_id"]])
    return render(request, "cases/detail.html", status_code=status_code, case=case,
                  household_name=household_label(request, households.get(case["household_id"])),
                  values=values or {"assigned_on": request.app.state.clock.today().isoformat()},
                  errors=errors, message=message, notice=notice, statuses=CASE_STATUS,
                  deadline_states=DEADLINE_STATES, deadline_name=lambda k: labels.DEADLINE_KINDS
                  .get(k, k))


@router.get("/cases/{case_id}")
async def case(request: Request, api: ApiDep, case_id: str, done: str = ""):
    notice = "帮扶责任人已安排；相关提醒已办结。" if done == "helper" else None
    return await _page(request, api, case_id, {}, {}, notice=notice)


@router.post("/cases/{case_id}/helpers")
async def assign_helper(request: Request, api: ApiDep, case_id: str):
    body = unflatten(await request.form())
    try:
        await api.post("monitoring", f"/api/v1/cases/{case_id}/helpers", json=body)
    except ApiError as exc:
        if not exc.fields:
            raise
        return await _page(request, api, case_id, body, exc.fields, exc.message,
                           status_code=422)
    return RedirectResponse(f"/cases/{case_id}?done=helper", status_code=303)
