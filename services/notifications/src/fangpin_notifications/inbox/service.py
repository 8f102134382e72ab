"""Turning events into inbox reminders, and the inbox itself. Never commits."""

from __future__ import annotations

from uuid import uuid4

from fastapi import HTTPException
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common.auth import Principal
from fangpin_common.clock import Clock
from fangpin_common.county import County
from fangpin_common.errors import NotFound
from fangpin_common.events import CloudEvent
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.routing.rules import Rule, render, resolve_recipients


async def deliver(session: AsyncSession, event: CloudEvent, rules: list[Rule], county: County,
                  clock: Clock) -> list[Reminder]:
    data = event.data.model_dump(mode="json")
    reminders: list[Reminder] = []
    for rule in rules:
        for unit_code in resolve_recipients(rule, data, county):
            unit = county.unit(unit_code)
            for channel in rule.channels:
                reminders.append(Reminder(
                    id=str(uuid4()), event_id=event.id, event_type=event.type,
                    recipient_unit=unit_code, channel=channel, township=data.get("township"),
                    village=data.get("village"), household_id=data.get("household_id"),
                    subject=event.subject,
                    body=render(rule.template, event, county, unit.name if unit else ""),
                    event_time=event.time, created_at=clock.now()))
    session.add_all(reminders)
    await session.flush()
    return reminders


def unit_of(principal: Principal) -> str:
    if not principal.unit:
        raise HTTPException(403, detail="该令牌未指定单位，无法查看提醒")
    return principal.unit


async def inbox(session: AsyncSession, principal: Principal, state: str | None, limit: int,
                offset: int) -> list[Reminder]:
    query = select(Reminder).where(Reminder.recipient_unit == unit_of(principal),
                                   Reminder.channel == "inbox")
    if state:
        query = query.where(Reminder.state == state)
    query = query.order_by(Reminder.created_at.desc(), Reminder.id).limit(limit).offset(offset)
    return list((await session.exec(query)).all())


async def mark(session: AsyncSession, principal: Principal, reminder_id: str, state: str,
               clock: Clock) -> Reminder:
    reminder = await session.get(Reminder, reminder_id)
    if reminder is None or reminder.recipient_unit != unit_of(principal):
        raise NotFound(f"提醒 {reminder_id} 不存在")
    now = clock.now()
    if state == "read" and reminder.state == "unread":
        reminder.state, reminder.read_at = "read", now
    elif state == "acknowledged" and reminder.state != "acknowledged":
        reminder.state, reminder.acknowledged_at = "acknowledged", now
        reminder.read_at = reminder.read_at or now
    session.add(reminder)
    return reminder
