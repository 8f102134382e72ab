from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from fangpin_console import labels
from fangpin_console.api import ApiError
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.households import service
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)

CHOICES = {"categories": service.CATEGORIES, "subcategories": service.SUBCATEGORIES,
           "risk_types": service.RISK_TYPES, "labour": service.LABOUR,
           "relations": service.RELATIONS, "health": service.HEALTH,
           "visitor_roles": service.VISITOR_ROLES, "case_status": service.CASE_STATUS,
           "warning_status": service.WARNING_STATUS, "ident_status": service.IDENT_STATUS}


@router.get("/households")
async def search(request: Request, api: ApiDep, q: str = "", village: str = ""):
    found, more = await service.search(api, q, village or None)
    return render(request, "households/search.html", households=found, q=q, village=village,
                  more=more)


def _register_form(request: Request, values: dict[str, Any], errors: dict[str, str],
                   message: str | None = None, status_code: int = 200):
    return render(request, "households/new.html", status_code=status_code, values=values,
                  errors=errors, message=message,
                  townships=labels.townships(request.app.state.settings.county_config),
                  **CHOICES)


@router.get("/households/new")
async def new(request: Request, _: ApiDep):
    return _register_form(request, {"members": [{"relation": "户主"}]}, {})


@router.post("/households/new")
async def register(request: Request, api: ApiDep):
    body = unflatten(await request.form(), booleans=BOOLEANS)
    person = request.state.signed_in
    # A township or village person registers in their own area (the service checks it too).
    body.setdefault("township", person.township)
    if person.village:
        body.setdefault("village", person.village)
    body["members"] = [m for m in body.get("members", []) if any(
        v for k, v in m.items() if k not in ("relation", "in_school"))] or body.get("members")
    try:
        created = await api.post("monitoring", "/api/v1/households", json=body)
    except ApiError as exc:
        return _register_form(request, body, exc.fields, exc.message,
                              status_code=422 if exc.fields else exc.status)
    return RedirectResponse(f"/households/{created['id']}?done=registered", status_code=303)


BOOLEANS = ("members.*.in_school", "members.*.deceased", "relocation_site",
            "whole_household_dibao", "dangerous_house_renovation", "disaster_hit")
NOTICES = {"saved": "户信息已保存。", "registered": "农户已登记。", "visited": "走访已记录。",
           "risk": "走访已记录；发现的风险已作为预警报送乡镇核实。"}


@router.get("/households/{household_id}")
async def household(request: Request, api: ApiDep, household_id: str, done: str = ""):
    return render(request, "households/detail.html", **await service.page(api, household_id),
                  notice=NOTICES.get(done), **CHOICES)


def _visit_form(request: Request, household: dict, values: dict, errors: dict[str, str],
                message: str | None = None, status_code: int = 200):
    return render(request, "households/visit.html", status_code=status_code,
                  household=household, values=values, errors=errors, message=message,
                  **CHOICES)


@router.get("/households/{household_id}/visits/new")
async def new_visit(request: Request, api: ApiDep, household_id: str):
    household = await api.get("monitoring", f"/api/v1/households/{household_id}")
    person = request.state.signed_in
    return _visit_form(request, household, {
        "visited_on": request.app.state.clock.today().isoformat(),
        "visitor_name": person.display_name, "leaflet_explained": True}, {})


@router.post("/households/{household_id}/visits/new")
async def record_visit(request: Request, api: ApiDep, household_id: str):
    form = await request.form()
    body = unflatten(form, lists=("risk_types",),
                     booleans=("leaflet_explained", "risk_found"))
    body["household_id"] = household_id
    household = await api.get("monitoring", f"/api/v1/households/{household_id}")
    try:
        visit = await api.post("monitoring", "/api/v1/visits", json=body)
    except ApiError as exc:
        return _visit_form(request, household, body, exc.fields, exc.message,
                           status_code=422 if exc.fields else exc.status)
    if not visit["risk_found"]:
        return RedirectResponse(f"/households/{household_id}?done=visited", status_code=303)
    # A risk found on a visit is a clue: the township verifies it (M3 → M1).
    reason = body.get("notes") or body.get("family_changes") or body.get(
        "living_conditions") or f"{visit['visited_on']} 入户走访发现风险"
    for risk_type in visit["risk_types"]:
        try:
            await api.post("monitoring", "/api/v1/warnings", json={
                "household_id": household_id, "source": "入户走访", "risk_type": risk_type,
                "reason": reason})
        except ApiError as exc:
            if exc.status != 409:  # an open clue of this risk already waits for verification
                raise
    return RedirectResponse(f"/households/{household_id}?done=risk", status_code=303)


def _edit_form(request: Request, household_id: str, values: dict, errors: dict[str, str],
               etag: str | None, message: str | None = None, status_code: int = 200):
    return render(
        request, "households/new.html", status_code=status_code, values=values, errors=errors,
        message=message, etag=etag, heading="修改户信息", submit="保存",
        action=f"/households/{household_id}/edit",
        townships=labels.townships(request.app.state.settings.county_config), **CHOICES)


def _may_edit(request: Request) -> None:
    # A village sees resident IDs masked, so it cannot send the full household back.
    if request.state.signed_in.role not in ("county", "township"):
        raise HTTPException(403, "户信息由乡镇或县级修改；村级请在走访中记录家庭变化")


@router.get("/households/{household_id}/edit")
async def edit(request: Request, api: ApiDep, household_id: str):
    _may_edit(request)
    household, etag = await api.get_with_etag("monitoring", f"/api/v1/households/{household_id}")
    return _edit_form(request, household_id, household, {}, etag)


@router.post("/households/{household_id}/edit")
async def save(request: Request, api: ApiDep, household_id: str):
    """The whole household replaced (the service's PUT), sent with the ETag read for the form:
    someone else's change in between is a 412, not a lost update."""
    _may_edit(request)
    form = await request.form()
    etag = str(form.get("etag") or "") or None
    body = unflatten(form, booleans=BOOLEANS, skip=("csrf_token", "etag"))
    try:
        await api.put("monitoring", f"/api/v1/households/{household_id}", json=body, etag=etag)
    except ApiError as exc:
        if exc.status == 412:
            # Show what is there now, with the new ETag, and say why.
            current, fresh = await api.get_with_etag("monitoring",
                                                     f"/api/v1/households/{household_id}")
            return _edit_form(request, household_id, current, {}, fresh, exc.message, 412)
        if not exc.fields:
            raise
        return _edit_form(request, household_id, body, exc.fields, etag, exc.message, 422)
    return RedirectResponse(f"/households/{household_id}?done=saved", status_code=303)
