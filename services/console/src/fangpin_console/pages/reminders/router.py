from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from fangpin_console import labels
from fangpin_console.pages.kit import ApiDep, render
from fangpin_console.pages.reminders import service
from fangpin_console.web.session import CsrfProtect

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


PAGE = 50


@router.get("/reminders")
async def inbox(request: Request, api: ApiDep,
                state: Literal["unread", "read", "acknowledged", "resolved", "all"] = "unread",
                timing: Literal["overdue", "due_soon", "all"] = "all",
                page: Annotated[int, Query(ge=1, le=100)] = 1):
    """提醒: the inbox, 50 a page; the timing filter is the console's (the inbox has none)."""
    wanted = None if state == "all" else state
    if timing == "all":
        raw = await api.get("notifications", "/api/v1/inbox", state=wanted, limit=PAGE + 1,
                            offset=(page - 1) * PAGE)
    else:
        raw = [r for r in await api.get("notifications", "/api/v1/inbox", state=wanted,
                                        limit=500)
               if (labels.timing(r["event_type"]) if not r.get("overdue") else "overdue")
               == timing][(page - 1) * PAGE:page * PAGE + 1]
    items = await service.present(request, api, raw[:PAGE])
    return render(request, "reminders/inbox.html", items=items, state=state, timing=timing,
                  states=labels.STATES, page=page, more=len(raw) > PAGE)


@router.post("/reminders/{reminder_id}/{act}")
async def mark(request: Request, api: ApiDep, reminder_id: str,
               act: Literal["read", "acknowledge"]):
    """Read or acknowledge one reminder; htmx swaps the row with the service's answer."""
    marked = await api.post("notifications", f"/api/v1/inbox/{reminder_id}/{act}")
    [item] = await service.present(request, api, [marked])
    return render(request, "reminders/_item.html", r=item)
