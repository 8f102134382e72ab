from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from fangpin_console.api import ApiError
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.households.service import RISK_TYPES, SUBCATEGORIES, WARNING_STATUS
from fangpin_console.pages.kit import ApiDep, household_label, households_by_id, render
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


@router.get("/warnings")
async def warnings(request: Request, api: ApiDep,
                   status: Literal["raised", "included", "dismissed", "all"] = "raised"):
    """Warnings to verify (县、乡镇): department matches, visits' and households' own clues."""
    found = await api.get("monitoring", "/api/v1/warnings",
                          status=None if status == "all" else status, limit=500)
    households = await households_by_id(api, (w["household_id"] for w in found),
                                        ((w["township"], w["village"]) for w in found))
    rows = [(w, household_label(request, households.get(w["household_id"]))) for w in found]
    return render(request, "warnings/list.html", rows=rows, status=status,
                  statuses=WARNING_STATUS)


async def _page(request: Request, api, warning_id: str, values: dict, errors: dict,
                message: str | None = None, status_code: int = 200):
    warning = await api.get("monitoring", f"/api/v1/warnings/{warning_id}")
    households = await households_by_id(api, [warning["household_id"]])
    return render(request, "warnings/detail.html", status_code=status_code, warning=warning,
                  household=households.get(warning["household_id"]),
                  household_name=household_label(request, households.get(
                      warning["household_id"])),
                  values=values or {"risk_types": [warning["risk_type"]]}, errors=errors,
                  message=message, subcategories=SUBCATEGORIES, risk_types=RISK_TYPES,
                  statuses=WARNING_STATUS)


@router.get("/warnings/{warning_id}")
async def warning(request: Request, api: ApiDep, warning_id: str):
    return await _page(request, api, warning_id, {}, {})


@router.post("/warnings/{warning_id}")
async def verify(request: Request, api: ApiDep, warning_id: str):
    """The township's verification: include (identification starts) or dismiss."""
    body = unflatten(await request.form(), lists=("risk_types",))
    if not body.get("risk_types"):
        body.pop("risk_types", None)  # the service takes the warning's own
    try:
        verified = await api.post("monitoring", f"/api/v1/warnings/{warning_id}/verification",
                                  json=body)
    except ApiError as exc:
        if not exc.fields:
            raise
        return await _page(request, api, warning_id, body, exc.fields, exc.message, 422)
    if verified.get("identification_id"):
        return RedirectResponse(f"/identifications/{verified['identification_id']}?done=started",
                                status_code=303)
    return RedirectResponse(f"/warnings/{warning_id}", status_code=303)
