from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request

from fangpin_console import labels
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.pages.reminders import service
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


@router.get("/reminders")
async def inbox(request: Request, api: ApiDep,
                state: Literal["unread", "read", "acknowledged", "resolved", "all"] = "unread",
                timing: Literal["overdue", "due_soon", "all"] = "all"):
    items = await service.load(request, api, None if state == "all" else state, limit=500)
    if timing != "all":
        items = [r for r in items if r.timing == timing]
    return render(request, "reminders/inbox.html", items=items, state=state, timing=timing,
                  states=labels.STATES)


@router.post("/reminders/{reminder_id}/{act}")
async def mark(request: Request, api: ApiDep, reminder_id: str,
               act: Literal["read", "acknowledge"]):
    """Read or acknowledge one reminder; htmx swaps the row with the service's answer."""
    marked = await api.post("notifications", f"/api/v1/inbox/{reminder_id}/{act}")
    [item] = await service.present(request, api, [marked])
    return render(request, "reminders/_item.html", r=item)
