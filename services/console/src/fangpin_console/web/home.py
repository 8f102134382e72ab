"""The landing page after sign-in (the workbench pages replace it)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fangpin_console.web.session import SignedInDep
from fangpin_console.web.templating import templates

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, signed_in: SignedInDep) -> HTMLResponse:
    return templates.TemplateResponse(request, "home.html", {"signed_in": signed_in})
