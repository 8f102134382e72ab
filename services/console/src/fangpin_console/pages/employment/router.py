from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from fangpin_console.api import Api, ApiError
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.kit import ApiDep, passed_on, render
from fangpin_console.web.session import CsrfProtect, SignedIn

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
Period = Annotated[str | None, Query(max_length=7)]


def _period(request: Request, period: str | None) -> str:
    if period is None:
        today = request.app.state.clock.today()
        return f"{today.year}-{today.month:02d}"
    if not PERIOD.match(period):
        raise HTTPException(404, "月份格式应为 年-月，如 2024-04")
    return period


def _form_path(person: SignedIn, period: str) -> str:
    """The township's own form, or the county's roll-up."""
    if person.role == "township":
        return f"/api/v1/forms/{period}/townships/{person.township}"
    return f"/api/v1/forms/{period}/county"


async def _page(request: Request, api: Api, period: str, values: dict, errors: dict,
                message: str | None = None, notice: str | None = None, status_code: int = 200):
    person = request.state.signed_in
    form = await api.get("employment", _form_path(person, period))
    submissions = await api.get("employment", f"/api/v1/forms/{period}/submissions",
                                township=person.township if person.role == "township"
                                else None)
    own = [s for s in submissions if (s["level"] == "county") == (person.role != "township")]
    townships = [s for s in submissions if s["level"] == "township"]
    latest_by_township: dict[str, dict] = {}
    for s in townships:
        latest_by_township[s["township"]] = s  # listed in order: the last is the newest
    return render(request, "employment/form.html", status_code=status_code, form=form,
                  period=period, own=own, township_submissions=list(
                      latest_by_township.values()), values=values or {
                      "filler": person.display_name}, errors=errors, message=message,
                  notice=notice)


@router.get("/employment/forms")
async def monthly_form(request: Request, api: ApiDep, period: Period = None, done: str = ""):
    """未转移就业脱贫劳动力就业情况统计表: open, check, submit, download."""
    notice = "已报送。" if done == "submitted" else None
    return await _page(request, api, _period(request, period), {}, {}, notice=notice)


@router.post("/employment/forms/{period}")
async def submit(request: Request, api: ApiDep, period: str):
    period = _period(request, period)
    person = request.state.signed_in
    body = unflatten(await request.form())
    path = (f"/api/v1/forms/{period}/townships/{person.township}/submissions"
            if person.role == "township" else f"/api/v1/forms/{period}/county/submissions")
    try:
        await api.post("employment", path, json=body)
    except ApiError as exc:
        if not exc.fields:
            raise
        return await _page(request, api, period, body, exc.fields, exc.message,
                           status_code=422)
    return RedirectResponse(f"/employment/forms?period={period}&done=submitted",
                            status_code=303)


@router.get("/employment/forms/{period}/download")
async def download(request: Request, api: ApiDep, period: str,
                   submission: Annotated[str | None, Query(max_length=64)] = None):
    """A submitted version exactly as submitted, or the form as it stands today."""
    period = _period(request, period)
    path = (f"/api/v1/forms/submissions/{submission}" if submission
            else _form_path(request.state.signed_in, period))
    return passed_on(await api.download("employment", path, format="xlsx"))
