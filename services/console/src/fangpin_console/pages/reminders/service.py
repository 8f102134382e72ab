"""Reminders as a clerk reads them: named households, the thing they are about, what is due."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from fastapi import Request

from fangpin_console import labels
from fangpin_console.api import Api
from fangpin_console.pages.kit import household_label, households_by_id

OPEN_STATES = ("unread", "read", "acknowledged")


@dataclass
class Reminder:
    id: str
    kind: str
    timing: str  # overdue / due_soon / other
    title: str
    body: str
    household: str | None
    place: str
    state: str
    when: str
    link: str


def link_for(item: dict[str, Any]) -> str:
    """The page of the thing a reminder is about."""
    event = item["event_type"]
    subject = item.get("subject")
    if subject and ".monitoring.warning." in event:
        return f"/warnings/{subject}"
    if subject and ".monitoring.identification." in event:
        return f"/identifications/{subject}"
    if subject and ".monitoring.case." in event:
        return f"/cases/{subject}"
    if ".employment.form." in event:
        return "/employment/forms"
    if item.get("household_id"):
        return f"/households/{item['household_id']}"
    return f"/reminders?state={item['state']}"


async def present(request: Request, api: Api, raw: list[dict[str, Any]]) -> list[Reminder]:
    households = await households_by_id(api, (r.get("household_id") for r in raw),
                                        ((r.get("township"), r.get("village")) for r in raw))
    out = []
    for r in raw:
        household = households.get(r.get("household_id") or "")
        names = {r["household_id"]: household["head_name"]} if household else {}
        label = household_label(request, household) if r.get("household_id") else None
        place = labels.township_name(request.app.state.settings.county_config,
                                     r.get("township")) + (r.get("village") or "")
        out.append(Reminder(
            id=r["id"], kind=labels.kind_name(r["event_type"]),
            timing=_timing(r),
            title=labels.readable(r.get("title") or "", names) or labels.kind_name(
                r["event_type"]),
            body=labels.readable(r["body"], names), household=label, place=place,
            state=r["state"], when=r["event_time"][:16].replace("T", " "),
            link=link_for(r)))
    return out


def _timing(item: dict[str, Any]) -> str:
    return "overdue" if item.get("overdue") else labels.timing(item["event_type"])


async def workbench(request: Request, api: Api, shown: int) -> dict[str, Any]:
    """What is due soon and overdue (open reminders), counted by kind over the whole inbox;
    only the items listed are looked up and presented."""
    raw = await api.get("notifications", "/api/v1/inbox", limit=500)
    open_due = [r for r in raw if r["state"] in OPEN_STATES
                and _timing(r) in ("overdue", "due_soon")]
    by_kind: dict[str, Counter] = {}
    for r in open_due:
        by_kind.setdefault(labels.kind_name(r["event_type"]), Counter())[_timing(r)] += 1
    overdue = [r for r in open_due if _timing(r) == "overdue"]
    due_soon = [r for r in open_due if _timing(r) == "due_soon"]
    listed = {r["id"] for r in overdue[:shown] + due_soon[:shown]}
    unread = [r for r in raw if r["state"] == "unread" and r["id"] not in {
        r["id"] for r in open_due}]
    presented = {r.id: r for r in await present(
        request, api, overdue[:shown] + due_soon[:shown] + unread[:shown])}
    return {
        "overdue": [presented[r["id"]] for r in overdue[:shown]], "overdue_count": len(overdue),
        "due_soon": [presented[r["id"]] for r in due_soon[:shown]],
        "due_soon_count": len(due_soon),
        "unread": [presented[r["id"]] for r in unread[:shown] if r["id"] not in listed],
        "unread_count": sum(r["state"] == "unread" for r in raw),
        "by_kind": sorted(by_kind.items(), key=lambda kv: (-kv[1]["overdue"], kv[0])),
    }
