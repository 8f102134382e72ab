"""Writing and reading the household change log. Never commits.

Why a cursor cannot simply be "the last sequence number seen": on PostgreSQL a sequence value
is taken when a row is inserted, not when its transaction commits. With two writers, T1 takes
seq 10, T2 takes seq 11 and commits first; a reader then sees 11, hands out a cursor past 11,
and T1's row 10 — committed a moment later — would be skipped for ever.

Our choice: every row also stores its writing transaction's id (`pg_current_xact_id()`, a
64-bit id that never wraps), and the feed only hands out rows whose transaction id is below
the `xmin` of the reader's snapshot (`pg_snapshot_xmin(pg_current_snapshot())`): every
transaction with a smaller id has finished, so no row can still appear below that line, and
every transaction that starts later gets a larger id. Rows are read in (txid, seq) order and
the cursor is the last (txid, seq) handed out. Rolled-back rows never exist.

The price is latency, never loss: the horizon is the oldest write transaction in flight on the
whole PostgreSQL cluster (read-only transactions take no id and do not count), so a long
writer anywhere — a big import, another service's batch — holds newer changes back until it
ends. A page can therefore be empty while changes exist; the platform simply asks again.

On SQLite writers are serialised (`BEGIN IMMEDIATE` takes the write lock for the whole
transaction), so `seq` is assigned in commit order and is a sufficient cursor on its own.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.db import bulk_insert

from fangpin_monitoring.changes.models import HouseholdChange
from fangpin_monitoring.changes.rules import Position

TABLE = HouseholdChange.__table__
ORIGINS = ("local", "import", "platform")
_TXID = "pg_current_xact_id()::text::bigint"
_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"


def _is_postgres(session: AsyncSession) -> bool:
    return session.bind.dialect.name == "postgresql"


async def record(session: AsyncSession, changes: list[tuple[str, int]], origin: str,
                 now: datetime) -> None:
    """Log (household_id, revision) changes in the caller's transaction."""
    if not changes:
        return
    txid = None
    if _is_postgres(session):
        txid = (await session.execute(select(literal_column(_TXID)))).scalar_one()
    await bulk_insert(session, TABLE, [
        {"txid": txid, "household_id": household_id, "revision": revision, "origin": origin,
         "changed_at": now} for household_id, revision in changes])


async def read_after(session: AsyncSession, after: Position, limit: int) -> list:
    """Up to `limit` committed changes after `after`, none of which can be overtaken later."""
    c = TABLE.c
    query = select(TABLE)
    if _is_postgres(session):
        query = query.where(
            c.txid < literal_column(_HORIZON),
            or_(c.txid > after.txid, and_(c.txid == after.txid, c.seq > after.seq)),
        ).order_by(c.txid, c.seq)
    else:
        query = query.where(c.seq > after.seq).order_by(c.seq)
    return list((await session.execute(query.limit(limit))).all())


def position_of(row) -> Position:
    return Position(row.txid or 0, row.seq)


async def count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(TABLE))).scalar_one()
