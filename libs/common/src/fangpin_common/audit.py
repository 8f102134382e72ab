"""Audit trail: every change records who, when, what, before and after; every full read of a
resident ID or phone number records who saw whose, and when (action "read_full")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.auth import Principal
from fangpin_common.db import bulk_insert
from fangpin_common.logging import request_id_var
from fangpin_common.tables import AUDIT_LOG


async def record(session: AsyncSession, principal: Principal, *, entity_type: str, entity_id: str,
                 action: str, before: dict[str, Any] | None, after: dict[str, Any] | None,
                 now: datetime) -> None:
    await session.execute(AUDIT_LOG.insert().values(
        at=now, actor=principal.sub, role=principal.role, entity_type=entity_type,
        entity_id=entity_id, action=action, before=before, after=after,
        request_id=request_id_var.get(),
    ))


async def added(session: AsyncSession, principal: Principal, row: Any, *, entity_type: str,
                action: str = "create", entity_id: str | None = None, now: datetime) -> None:
    """Add a new row and record it: the audit entry's `after` is the row as stored."""
    session.add(row)
    await session.flush()
    await record(session, principal, entity_type=entity_type, entity_id=entity_id or row.id,
                 action=action, before=None, after=row.model_dump(mode="json"), now=now)


async def record_many(session: AsyncSession, principal: Principal, entries: list[dict[str, Any]],
                      now: datetime) -> None:
    """Many `record` calls in one round trip; each entry has entity_type, entity_id, action,
    before and after."""
    if not entries:
        return
    common = {"at": now, "actor": principal.sub, "role": principal.role,
              "request_id": request_id_var.get()}
    await bulk_insert(session, AUDIT_LOG, [common | e for e in entries])


async def history(session: AsyncSession, entity_type: str, entity_id: str) -> list[dict]:
    rows = await session.execute(
        select(AUDIT_LOG).where(AUDIT_LOG.c.entity_type == entity_type,
                                AUDIT_LOG.c.entity_id == entity_id).order_by(AUDIT_LOG.c.id))
    return [dict(r._mapping) for r in rows]


FULL_READ = "read_full"


async def full_read(session: AsyncSession, principal: Principal, entity_type: str,
                    entity_ids: Iterable[str | None], what: str = "id_number,phone",
                    now: datetime | None = None) -> None:
    """Record that `principal` was shown the full resident IDs / phones of these entities
    (nothing when its role sees them masked): one entry per entity."""
    if not principal.sees_identity_numbers:
        return
    ids = list(dict.fromkeys(i for i in entity_ids if i))
    await record_many(session, principal, [
        {"entity_type": entity_type, "entity_id": i, "action": FULL_READ, "before": None,
         "after": {"fields": what}} for i in ids], now or datetime.now(UTC))
