"""Operators' view of deliveries: dead letters, the attempt log, resending."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from fangpin_common.deps import ClockDep, SessionDep
from fangpin_common.types import Offset
from fangpin_notifications.deliveries import service
from fangpin_notifications.deliveries.models import DeliveryRead
from fangpin_notifications.deps import County, NotifierDep

router = APIRouter(prefix="/admin/deliveries", tags=["operations"])


State = Literal["pending", "sent", "dead", "cancelled", "unknown"]


@router.get("", response_model=list[DeliveryRead])
async def list_deliveries(session: SessionDep, _: County, state: State | None = "dead",
                          channel: str | None = None,
                          limit: Annotated[int, Query(ge=1, le=500)] = 100,
                          offset: Offset = 0) -> list[DeliveryRead]:
    return await service.list_deliveries(session, state, channel, limit, offset)


@router.get("/{delivery_id}", response_model=DeliveryRead)
async def get_delivery(delivery_id: str, session: SessionDep, _: County) -> DeliveryRead:
    return await service.get_delivery(session, delivery_id)


@router.post("/{delivery_id}/resend", response_model=DeliveryRead)
async def resend(delivery_id: str, session: SessionDep, principal: County, clock: ClockDep,
                 notifier: NotifierDep) -> DeliveryRead:
    delivery = await service.resend(session, delivery_id, principal, clock.now())
    notifier.after_commit(session, notifier.wake.set)
    return delivery
