from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from fangpin_common.deps import ClockDep, PrincipalDep, SessionDep
from fangpin_common.types import Offset
from fangpin_notifications.inbox import service
from fangpin_notifications.inbox.models import ReminderRead

router = APIRouter(prefix="/api/v1/inbox", tags=["inbox"])


@router.get("", response_model=list[ReminderRead])
async def list_inbox(session: SessionDep, principal: PrincipalDep,
                     state: Literal["unread", "read", "acknowledged", "resolved"] | None = None,
                     unit: Annotated[str | None,
                                     Query(description="县级令牌可查看其他单位")] = None,
                     limit: Annotated[int, Query(ge=1, le=500)] = 100,
                     offset: Offset = 0) -> list[ReminderRead]:
    return [ReminderRead(**r.model_dump())
            for r in await service.inbox(session, principal, state, limit, offset, unit)]


@router.get("/{reminder_id}", response_model=ReminderRead)
async def get_one(reminder_id: str, session: SessionDep, principal: PrincipalDep) -> ReminderRead:
    return ReminderRead(**(await service.get(session, principal, reminder_id)).model_dump())


@router.post("/{reminder_id}/read", response_model=ReminderRead)
async def read(reminder_id: str, session: SessionDep, principal: PrincipalDep,
               clock: ClockDep) -> ReminderRead:
    return ReminderRead(**(await service.mark(session, principal, reminder_id, "read", clock))
                        .model_dump())


@router.post("/{reminder_id}/acknowledge", response_model=ReminderRead)
async def acknowledge(reminder_id: str, session: SessionDep, principal: PrincipalDep,
                      clock: ClockDep) -> ReminderRead:
    return ReminderRead(**(await service.mark(session, principal, reminder_id, "acknowledged",
                                              clock)).model_dump())
