from __future__ import annotations

from fastapi import APIRouter, Request

from fangpin_console.api import ApiError
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.pages.reminders import service as reminders
from fangpin_console.web.session import CsrfProtect

SHOWN = 10  # items listed per kind of list; the counts cover them all
router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


@router.get("/")
async def workbench(request: Request, api: ApiDep):
    """我的工作台: what is due soon and overdue for my unit, and my unread reminders."""
    try:
        found = await reminders.workbench(request, api, SHOWN)
        unavailable = None
    except ApiError as exc:
        # The landing page stays usable (links, sign-out) while a service is down.
        if exc.status < 500:
            raise
        found, unavailable = {"overdue": [], "due_soon": [], "unread": [], "by_kind": [],
                              "overdue_count": 0, "due_soon_count": 0, "unread_count": 0}, \
            exc.message
    return render(request, "workbench/index.html", **found, shown=SHOWN,
                  unavailable=unavailable)
