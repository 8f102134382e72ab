"""Deliveries in the database: claimed atomically, settled after every attempt, resent."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import col
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import audit
from fangpin_common.auth import Principal
from fangpin_common.errors import Conflict, NotFound
from fangpin_notifications.deliveries.models import (
    AttemptRead,
    Delivery,
    DeliveryAttempt,
    DeliveryRead,
)
from fangpin_notifications.inbox.models import CLOSED, Reminder

DELIVERIES = Delivery.__table__
ATTEMPTS = DeliveryAttempt.__table__
D = DELIVERIES.c
A = ATTEMPTS.c


async def claim(db, channel: str, limit: int, now: datetime, lease_seconds: float,
                postgres: bool) -> list:
    """Take up to `limit` due deliveries of a channel for this dispatcher, atomically: a row
    another dispatcher holds (lease not expired) or has locked is skipped."""
    due = and_(D.state == "pending", D.channel == channel, D.available_at <= now,
               or_(D.claimed_until.is_(None), D.claimed_until < now))
    claimable = select(D.id).where(due).order_by(D.available_at).limit(limit)
    if postgres:
        claimable = claimable.with_for_update(skip_locked=True)
    async with db.unit_of_work() as session:
        rows = (await session.execute(
            update(DELIVERIES).where(D.id.in_(claimable.scalar_subquery()), due)
            .values(claimed_until=now + timedelta(seconds=lease_seconds))
            .returning(*DELIVERIES.c))).all()
    return sorted(rows, key=lambda r: r.available_at)


async def acknowledged(db, reminder_ids: list[str]) -> set[str]:
    """The reminders among these that are closed (answered, or the thing was done)."""
    if not reminder_ids:
        return set()
    async with db.session() as session:
        rows = await session.execute(select(Reminder.__table__.c.id).where(
            Reminder.__table__.c.id.in_(reminder_ids),
            Reminder.__table__.c.state.in_(CLOSED)))
        return {r[0] for r in rows}


async def begin(db, row, *, started: datetime, addresses: list[str]) -> None:
    """Record the attempt as in flight, committed before anything is sent: if the process dies
    during the send, what happened is known to be unknown (see `recover`)."""
    async with db.unit_of_work() as session:
        await session.execute(update(DELIVERIES).where(D.id == row.id, D.state == "pending")
                              .values(sending_since=started))
        await session.execute(ATTEMPTS.insert().values(
            delivery_id=row.id, attempt=row.attempts + 1, started_at=started, duration_ms=0,
            outcome="sending", addresses=addresses, status=None, error=None))


async def settle(db, row, *, outcome: str, now: datetime, started: datetime, duration_ms: int,
                 addresses: list[str], status: str | None, error: str | None,
                 retry_at: datetime | None = None) -> None:
    """Record the attempt and move the delivery on: sent, retry later, dead or cancelled."""
    attempt = row.attempts + (0 if outcome == "cancelled" else 1)
    values: dict = {"claimed_until": None, "attempts": attempt, "sending_since": None}
    if outcome == "sent":
        values |= {"state": "sent", "sent_at": now, "last_error": None}
    elif outcome == "retry":
        values |= {"available_at": retry_at or now, "last_error": error}
    elif outcome == "dead":
        values |= {"state": "dead", "last_error": error}
    elif outcome == "cancelled":
        values |= {"state": "cancelled", "last_error": error}
    logged = {"outcome": outcome, "duration_ms": duration_ms, "addresses": addresses,
              "status": (status or "")[:50] or None, "error": (error or "")[:4000] or None}
    async with db.unit_of_work() as session:
        # `unknown`: given up on by `recover` while this slow send was still going; its outcome
        # is known now after all.
        await session.execute(update(DELIVERIES)
                              .where(D.id == row.id, D.state.in_(("pending", "unknown")))
                              .values(**values))
        begun = await session.execute(
            update(ATTEMPTS).where(A.delivery_id == row.id, A.attempt == attempt,
                                   A.outcome == "sending").values(**logged))
        if begun.rowcount == 0:
            await session.execute(ATTEMPTS.insert().values(
                delivery_id=row.id, attempt=attempt, started_at=started, **logged))


UNKNOWN_NOTE = ("发送过程中服务中断，无法确认对方是否已收到（该渠道不支持去重）：请核实，"
                "如未收到请重新发送")


async def recover(db, channel: str, *, idempotent: bool, now: datetime,
                  stale_before: datetime) -> list[str]:
    """Deliveries whose send began before `stale_before` and was never settled (their process
    died mid-send). An idempotent channel sends them again, with the same delivery id, for the
    receiver to drop the copy; the others become `unknown` — never sent twice on their own —
    and an operator resends them. Returns the ids."""
    stale = and_(D.channel == channel, D.state == "pending", D.sending_since.is_not(None),
                 D.sending_since < stale_before)
    values: dict = {"sending_since": None, "claimed_until": None, "attempts": D.attempts + 1}
    if idempotent:
        values |= {"available_at": now, "last_error": "发送过程中服务中断，将以同一投递编号重发"}
    else:
        values |= {"state": "unknown", "last_error": UNKNOWN_NOTE}
    async with db.unit_of_work() as session:
        ids = [r[0] for r in await session.execute(
            update(DELIVERIES).where(stale).values(**values).returning(D.id))]
        for start in range(0, len(ids), 500):
            await session.execute(
                update(ATTEMPTS).where(A.delivery_id.in_(ids[start:start + 500]),
                                       A.outcome == "sending")
                .values(outcome="unknown", error=UNKNOWN_NOTE if not idempotent
                        else "发送过程中服务中断"))
    return ids


async def counts(db) -> dict[tuple[str, str], int]:
    async with db.session() as session:
        rows = await session.execute(select(D.channel, D.state, func.count())
                                     .where(D.state.in_(("pending", "dead", "unknown")))
                                     .group_by(D.channel, D.state))
        return {(c, s): n for c, s, n in rows}


# -- admin ------------------------------------------------------------------------------------
async def list_deliveries(session: AsyncSession, state: str | None, channel: str | None,
                          limit: int, offset: int) -> list[DeliveryRead]:
    query = sm_select(Delivery)
    if state:
        query = query.where(Delivery.state == state)
    if channel:
        query = query.where(Delivery.channel == channel)
    query = query.order_by(col(Delivery.created_at).desc(), Delivery.id).limit(limit).offset(offset)
    return [DeliveryRead(**d.model_dump()) for d in (await session.exec(query)).all()]


async def get_delivery(session: AsyncSession, delivery_id: str) -> DeliveryRead:
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"投递 {delivery_id} 不存在")
    log = (await session.exec(sm_select(DeliveryAttempt)
                              .where(DeliveryAttempt.delivery_id == delivery_id)
                              .order_by(DeliveryAttempt.id))).all()
    return DeliveryRead(**delivery.model_dump(),
                        log=[AttemptRead(**a.model_dump()) for a in log])


async def resend(session: AsyncSession, delivery_id: str, principal: Principal,
                 now: datetime) -> DeliveryRead:
    """A dead letter (or a cancelled delivery, or one whose send is in doubt) goes back to the
    dispatcher, attempts reset; its attempt log is kept."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound(f"投递 {delivery_id} 不存在")
    if delivery.state not in ("dead", "cancelled", "unknown"):
        raise Conflict(f"投递 {delivery_id} 的状态是 {delivery.state}，只有失败（dead）、已取消或"
                       f"结果不明（unknown）的投递可以重新发送")
    before = {"state": delivery.state, "attempts": delivery.attempts}
    delivery.state, delivery.attempts = "pending", 0
    delivery.available_at, delivery.claimed_until, delivery.sending_since = now, None, None
    session.add(delivery)
    await session.flush()
    await audit.record(session, principal, entity_type="delivery", entity_id=delivery_id,
                       action="resend", before=before,
                       after={"state": "pending", "attempts": 0}, now=now)
    return await get_delivery(session, delivery_id)
