"""The inbox: a unit reads and acknowledges its reminders. Never commits."""

from __future__ import annotations

from fastapi import HTTPException
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.errors import NotFound
from fangpin_notifications.inbox.models import CLOSED, Reminder


def unit_of(principal: Principal, unit: str | None = None) -> str:
    """The inbox a token reads: its own unit; a county token may name another unit."""
    if unit and unit != principal.unit:
        if principal.role != "county":
            raise HTTPException(403, detail="只能查看本单位的提醒")
        return unit
    if not principal.unit:
        raise HTTPException(403, detail="该令牌未指定单位，无法查看提醒")
    return principal.unit


async def inbox(session: AsyncSession, principal: Principal, state: str | None, limit: int,
                offset: int, unit: str | None = None) -> list[Reminder]:
    query = select(Reminder).where(Reminder.recipient_unit == unit_of(principal, unit),
                                   Reminder.channel == "inbox")
    if state:
        query = query.where(Reminder.state == state)
    query = query.order_by(Reminder.created_at.desc(), Reminder.id).limit(limit).offset(offset)
    return list((await session.exec(query)).all())


async def get(session: AsyncSession, principal: Principal, reminder_id: str) -> Reminder:
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or (reminder.recipient_unit != principal.unit
                            and principal.role != "county"):
        raise NotFound(f"提醒 {reminder_id} 不存在")
    return reminder


async def mark(session: AsyncSession, principal: Principal, reminder_id: str, state: str,
               clock: Clock) -> Reminder:
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or reminder.recipient_unit != unit_of(principal):
        raise NotFound(f"提醒 {reminder_id} 不存在")
    now = clock.now()
    if state == "read" and reminder.state == "unread":
        reminder.state, reminder.read_at = "read", now
    elif state == "acknowledged" and reminder.state not in CLOSED:  # done stays done
        reminder.state, reminder.acknowledged_at = "acknowledged", now
        reminder.read_at = reminder.read_at or now
        reminder.escalate_at = None  # answered: it climbs no further
    session.add(reminder)
    return reminder
