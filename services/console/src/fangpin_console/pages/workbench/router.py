from __future__ import annotations

from fastapi import APIRouter, Request

from fangpin_console.api import ApiError
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.pages.reminders import service as reminders
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


@router.get("/")
async def workbench(request: Request, api: ApiDep):
    """我的工作台: what is due soon and overdue for my unit, and my unread reminders."""
    try:
        items = await reminders.load(request, api, limit=500)
        unavailable = None
    except ApiError as exc:
        # The landing page stays usable (links, sign-out) while a service is down.
        if exc.status < 500:
            raise
        items, unavailable = [], exc.message
    summary = reminders.due_summary(items)
    shown = {r.id for r in summary["overdue"] + summary["due_soon"]}
    return render(request, "workbench/index.html", **summary, unavailable=unavailable,
                  unread_count=sum(r.state == "unread" for r in items),
                  unread=[r for r in items if r.state == "unread" and r.id not in shown][:10])
