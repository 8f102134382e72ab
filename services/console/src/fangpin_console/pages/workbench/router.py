from __future__ import annotations

from fastapi import APIRouter, Request

from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.pages.reminders import service as reminders

router = APIRouter(tags=["pages"])


@router.get("/")
async def workbench(request: Request, api: ApiDep):
    """我的工作台: what is due soon and overdue for my unit, and my unread reminders."""
    items = await reminders.load(request, api, limit=500)
    return render(request, "workbench/index.html", **reminders.due_summary(items),
                  unread=[r for r in items if r.state == "unread"][:10])
