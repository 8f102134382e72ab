"""Operators' view of the loaded routing rules and the scans they drive."""

from __future__ import annotations

from fastapi import APIRouter

from fangpin_notifications.deps import County, NotifierDep
from fangpin_notifications.digest import service as digest
from fangpin_notifications.escalation import service as escalation

router = APIRouter(prefix="/admin", tags=["operations"])


@router.get("/routing")
async def routing(_: County, notifier: NotifierDep) -> list[dict]:
    return [r.model_dump(mode="json") | {"name": r.name} for r in notifier.rules.rules]


@router.post("/escalations/scan")
async def scan_escalations(_: County, notifier: NotifierDep) -> dict:
    return {"escalated": await escalation.scan(notifier)}


@router.post("/digests/run")
async def run_digest(_: County, notifier: NotifierDep) -> dict:
    units = await digest.run_if_due(notifier)
    return {"units": units or 0, "composed": units is not None}
