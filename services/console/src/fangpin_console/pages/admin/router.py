from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse

from fangpin_common.errors import Conflict, DomainError
from fangpin_console.api import ApiError
from fangpin_console.pages.admin import service
from fangpin_console.pages.forms import unflatten
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.runtime import Console
from fangpin_console.web.session import CsrfProtect, SignedIn, SignedInDep


async def administrator(person: SignedInDep) -> SignedIn:
    if not person.is_admin:
        raise HTTPException(403, "仅系统管理员可以管理人员和单位")
    return person


AdminDep = Annotated[SignedIn, Depends(administrator)]
router = APIRouter(tags=["pages"], dependencies=[CsrfProtect, Depends(administrator)],
                   include_in_schema=False)


def _units(request: Request) -> list[tuple[str, str]]:
    return [(u.code, f"{u.name}（{service.LEVELS.get(u.level, u.level)}）")
            for u in Console.from_request(request).county.all_units()]


async def _people_page(request: Request, values: dict, errors: dict, created: str | None = None,
                       password: str | None = None, status_code: int = 200):
    console = Console.from_request(request)
    names = dict(_units(request))
    return render(request, "admin/people.html", status_code=status_code,
                  people=await service.people(console), unit_names=names,
                  units=_units(request), values=values, errors=errors, created=created,
                  password=password)


@router.get("/admin/people")
async def people(request: Request, _: AdminDep):
    return await _people_page(request, {}, {})


@router.post("/admin/people")
async def add_person(request: Request, admin: AdminDep,
                     username: Annotated[str, Form(max_length=64)] = "",
                     display_name: Annotated[str, Form(max_length=64)] = "",
                     unit: Annotated[str, Form(max_length=100)] = ""):
    values = {"username": username, "display_name": display_name, "unit": unit}
    try:
        password = await service.add_person(Console.from_request(request), admin, username,
                                            display_name, unit)
    except (DomainError, Conflict) as exc:
        errors = service.field_errors(exc)
        errors = {("unit" if k == "units" else k): v for k, v in errors.items()}
        return await _people_page(request, values, errors, status_code=422)
    # The one-time password is shown this once, to be handed over in person.
    return await _people_page(request, {}, {}, created=display_name or username,
                              password=password)


@router.get("/admin/units")
async def units(request: Request, api: ApiDep):
    found = await api.get("notifications", "/api/v1/directory/units")
    return render(request, "admin/units.html", units=found, levels=service.LEVELS)


async def _unit_page(request: Request, api, code: str, values: dict | None, errors: dict,
                     message: str | None = None, notice: str | None = None,
                     status_code: int = 200):
    unit, etag = await api.get_with_etag("notifications", f"/api/v1/directory/units/{code}")
    return render(request, "admin/unit.html", status_code=status_code, unit=unit, etag=etag,
                  values=values if values is not None else unit, errors=errors,
                  message=message, notice=notice, contacts=service.CONTACTS,
                  channels=service.CHANNELS, levels=service.LEVELS)


@router.get("/admin/units/{code}")
async def unit(request: Request, api: ApiDep, code: str, done: str = ""):
    return await _unit_page(request, api, code, None, {},
                            notice="联系方式已保存。" if done == "saved" else None)


@router.post("/admin/units/{code}")
async def save_contacts(request: Request, api: ApiDep, code: str):
    form = await request.form()
    etag = form.get("etag") or None
    body = {name: (str(form.get(name) or "").strip() or None) for name, *_ in service.CONTACTS}
    try:
        await api.patch("notifications", f"/api/v1/directory/units/{code}", json=body,
                        etag=str(etag) if etag else None)
    except ApiError as exc:
        if not exc.fields and exc.status != 412:
            raise
        return await _unit_page(request, api, code, unflatten(form), exc.fields, exc.message,
                                status_code=exc.status)
    return RedirectResponse(f"/admin/units/{code}?done=saved", status_code=303)


@router.post("/admin/units/{code}/test/{channel}")
async def test_message(request: Request, api: ApiDep, code: str,
                       channel: Literal["wecom", "dingtalk", "email", "webhook", "sms"]):
    """htmx: the result of a test message, shown beside its button."""
    try:
        result = await api.post("notifications",
                                f"/api/v1/directory/units/{code}/test-message",
                                json={"channel": channel})
        ok, text = result["sent"], result["detail"]
    except ApiError as exc:
        ok, text = False, exc.fields.get("channel") or exc.message
    return render(request, "admin/_test_result.html", ok=ok, text=text)
