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

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


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


async def load(request: Request, api: Api, state: str | None = None,
               limit: int = 200) -> list[Reminder]:
    raw = await api.get("notifications", "/api/v1/inbox", state=state, limit=limit)
    return await present(request, api, raw)


async def present(request: Request, api: Api, raw: list[dict[str, Any]]) -> list[Reminder]:
    households = await households_by_id(api, (r.get("household_id") for r in raw))
    out = []
    for r in raw:
        household = households.get(r.get("household_id") or "")
        names = {r["household_id"]: household["head_name"]} if household else {}
        label = household_label(request, household) if r.get("household_id") else None
        place = labels.township_name(request.app.state.settings.county_config,
                                     r.get("township")) + (r.get("village") or "")
        out.append(Reminder(
            id=r["id"], kind=labels.kind_name(r["event_type"]),
            timing="overdue" if r.get("overdue") else labels.timing(r["event_type"]),
            title=labels.readable(r.get("title") or "", names) or labels.kind_name(
                r["event_type"]),
            body=labels.readable(r["body"], names), household=label, place=place,
            state=r["state"], when=r["event_time"][:16].replace("T", " "),
            link=link_for(r)))
    return out


def due_summary(reminders: list[Reminder]) -> dict[str, Any]:
    """Counts and lists of what is due soon and overdue, by kind (open reminders only)."""
    open_due = [r for r in reminders if r.open and r.timing in ("overdue", "due_soon")]
    by_kind: dict[str, Counter] = {}
    for r in open_due:
        by_kind.setdefault(r.kind, Counter())[r.timing] += 1
    return {
        "overdue": [r for r in open_due if r.timing == "overdue"],
        "due_soon": [r for r in open_due if r.timing == "due_soon"],
        "by_kind": sorted(by_kind.items(), key=lambda kv: (-kv[1]["overdue"], kv[0])),
    }
