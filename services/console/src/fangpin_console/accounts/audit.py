"""Sign-in, sign-out and account changes in the shared audit log (who, when, what)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.logging import request_id_var
from fangpin_common.tables import AUDIT_LOG


async def record(session: AsyncSession, *, actor: str, role: str, action: str, entity_id: str,
                 now: datetime, entity_type: str = "account", before: dict[str, Any] | None = None,
                 after: dict[str, Any] | None = None) -> None:
    await session.execute(AUDIT_LOG.insert().values(
        at=now, actor=actor[:100], role=role[:20], entity_type=entity_type,
        entity_id=entity_id[:64], action=action, before=before, after=after,
        request_id=request_id_var.get()))
