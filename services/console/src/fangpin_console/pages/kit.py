"""What every page router uses: the person's API client, rendering, household names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import pass_context

from fangpin_console import labels
from fangpin_console.api import Api, ApiError
from fangpin_console.web.session import SignedIn, SignedInDep
from fangpin_console.web.templating import templates

ROLE_NAMES = {"county": "县级", "township": "乡镇", "village": "村级", "department": "部门",
              "platform": "平台"}


async def api_for(request: Request, person: SignedInDep) -> Api:
    api = Api(request.app.state.http, request.app.state.settings, person.access_token)
    request.state.api = api  # the page's calls, for its timing
    return api


ApiDep = Annotated[Api, Depends(api_for)]


def township_name(request: Request, code: str | None) -> str:
    return labels.township_name(request.app.state.settings.county_config, code)


def render(request: Request, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    context.setdefault("me", getattr(request.state, "signed_in", None))
    return templates.TemplateResponse(request, template, context, status_code=status_code)


def _config(context) -> Any:
    return context["request"].app.state.settings.county_config


@pass_context
def _me(context) -> SignedIn | None:
    return getattr(context["request"].state, "signed_in", None)


@pass_context
def _role_name(context) -> str:
    person = _me(context)
    return ROLE_NAMES.get(person.role, "") if person else ""


# What every page's template may use (the sign-in pages included).
templates.env.globals.update(
    current_person=_me, role_name=_role_name,
    county_name=pass_context(lambda c: labels.county_name(_config(c))),
    township_name=pass_context(lambda c, code: labels.township_name(_config(c), code)),
    kind_name=labels.kind_name, state_name=lambda s: labels.STATES.get(s, s))


# Past this many households a page reads whole villages (one call each) rather than one
# call per household.
BY_VILLAGE_FROM = 8


async def households_by_id(api: Api, ids: Iterable[str | None],
                           places: Iterable[tuple[str | None, str | None]] = ()
                           ) -> dict[str, dict]:
    """The households behind ids (reminders, cases and warnings carry only the id); one the
    person may not see, or that is gone, is left out. `places` (township, village) where the
    ids are likely to be let many be read in a few list calls."""
    wanted = sorted({i for i in ids if i})
    found: dict[str, dict] = {}
    villages = sorted({p for p in places if p[0] and p[1]})
    if len(wanted) >= BY_VILLAGE_FROM and villages:
        lists = await asyncio.gather(*(
            api.get("monitoring", "/api/v1/households", township=t, village=v, limit=500)
            for t, v in villages))
        found = {h["id"]: h for listed in lists for h in listed if h["id"] in set(wanted)}

    async def one(household_id: str) -> dict | None:
        try:
            return await api.get("monitoring", f"/api/v1/households/{household_id}")
        except ApiError as exc:
            if exc.status in (403, 404):
                return None
            raise

    missing = [i for i in wanted if i not in found]
    for i, h in zip(missing, await asyncio.gather(*(one(i) for i in missing)), strict=True):
        if h:
            found[i] = h
    return found


def household_label(request: Request, household: dict | None) -> str:
    """How pages name a household: head, township and village (never its id)."""
    if not household:
        return "（农户信息不可见）"
    place = township_name(request, household["township"]) + household["village"]
    address = f"，{household['address']}" if household.get("address") else ""
    return f"{household['head_name']}户（{place}{address}）"


def passed_on(upstream: httpx.Response) -> Response:
    """A file a service made (XLSX, CSV), handed on as it came: type and file name."""
    headers = {k: v for k, v in upstream.headers.items()
               if k.lower() in ("content-type", "content-disposition")}
    return Response(upstream.content, headers=headers)
