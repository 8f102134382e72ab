"""What every page router uses: the person's API client, rendering, household names."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

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
    person: SignedIn | None = request.scope.get("signed_in")
    return templates.TemplateResponse(request, template, {
        "me": person,
        "county_name": labels.county_name(request.app.state.settings.county_config),
        "role_name": ROLE_NAMES.get(person.role, "") if person else "",
        "township_name": lambda code: township_name(request, code),
        "kind_name": labels.kind_name,
        "state_name": lambda s: labels.STATES.get(s, s),
        **context,
    }, status_code=status_code)


async def households_by_id(api: Api, ids: Iterable[str | None]) -> dict[str, dict]:
    """The households behind ids (reminders, cases and warnings carry only the id); one the
    person may not see, or that is gone, is left out."""
    wanted = sorted({i for i in ids if i})

    async def one(household_id: str) -> dict | None:
        try:
            return await api.get("monitoring", f"/api/v1/households/{household_id}")
        except ApiError as exc:
            if exc.status in (403, 404):
                return None
            raise

    found = await asyncio.gather(*(one(i) for i in wanted))
    return {i: h for i, h in zip(wanted, found, strict=True) if h}


def household_label(request: Request, household: dict | None) -> str:
    """How pages name a household: head, township and village (never its id)."""
    if not household:
        return "（农户信息不可见）"
    place = township_name(request, household["township"]) + household["village"]
    address = f"，{household['address']}" if household.get("address") else ""
    return f"{household['head_name']}户（{place}{address}）"
