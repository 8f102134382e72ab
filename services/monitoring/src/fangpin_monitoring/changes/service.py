"""Writing and reading the household change log. Never commits.

Why a cursor cannot simply be "the last sequence number seen" when writers run concurrently:
on PostgreSQL a sequence value is taken when a row is inserted, not when its transaction
commits. T1 takes seq 10, T2 takes seq 11 and commits first; a reader sees 11, hands out a
cursor past it, and T1's row 10 — committed a moment later — is skipped for ever.

Our choice: make the sequence commit-ordered. A writer takes a transaction-scoped advisory
lock (per schema) before it inserts change rows and keeps it until it commits or rolls back,
so a second writer can only draw its sequence numbers after the first has finished: a row
can never become visible below a position already handed out, and `seq` is a safe cursor.
Writers of household changes are serialised only from their change-log insert to their
commit: a request's changes are logged when its transaction commits (`record_at_commit`, after
the last flush), an import's once after all of its rows; everything else runs concurrently,
and no row lock is ever awaited while the tail lock is held. Unlike handing out only rows
older than the oldest transaction in flight (`pg_snapshot_xmin`), this never stalls the feed
behind a long or idle transaction elsewhere on the PostgreSQL cluster — a real risk with one
database shared by the services (seen in practice: one idle-in-transaction session in another
database froze such a feed for minutes).

On SQLite writers are serialised anyway (`BEGIN IMMEDIATE` takes the write lock for the
whole transaction), so the same rule holds without a lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import event, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.db import bulk_insert
from fangpin_monitoring.changes.models import HouseholdChange

TABLE = HouseholdChange.__table__
ORIGINS = ("local", "import", "platform")
# Keyed by schema: each service instance (and each test schema) has its own change log.
_TAIL_LOCK = text("SELECT pg_advisory_xact_lock(hashtext(current_schema()), 1302)")


async def record(session: AsyncSession, changes: list[tuple[str, int]], origin: str,
                 now: datetime) -> None:
    """Log (household_id, revision) changes in the caller's transaction."""
    if not changes:
        return
    if session.bind.dialect.name == "postgresql":
        await session.execute(_TAIL_LOCK)  # held until this transaction ends
    await bulk_insert(session, TABLE, [
        {"household_id": household_id, "revision": revision, "origin": origin,
         "changed_at": now} for household_id, revision in changes])


_PENDING = "fangpin_household_changes"
_LISTENING = "fangpin_household_changes_listening"


def record_at_commit(session: AsyncSession, changes: list[tuple[str, int]], origin: str,
                     now: datetime) -> None:
    """Log (household_id, revision) changes when the caller's transaction commits (and not if
    it rolls back): the tail lock is then held for the commit alone."""
    sync = session.sync_session
    sync.info.setdefault(_PENDING, []).extend(
        {"household_id": household_id, "revision": revision, "origin": origin,
         "changed_at": now} for household_id, revision in changes)
    if not sync.info.get(_LISTENING):
        event.listen(sync, "before_commit", _log_pending)
        sync.info[_LISTENING] = True


def _log_pending(sync) -> None:
    rows = sync.info.pop(_PENDING, None)
    if not rows:
        return
    sync.flush()  # every other write first: no row lock is awaited under the tail lock
    if sync.bind.dialect.name == "postgresql":
        sync.execute(_TAIL_LOCK)
    sync.execute(TABLE.insert(), rows)


async def read_after(session: AsyncSession, after: int, limit: int) -> list:
    """Up to `limit` committed changes after position `after`, oldest first."""
    c = TABLE.c
    return list((await session.execute(
        select(TABLE).where(c.seq > after).order_by(c.seq).limit(limit))).all())


async def count(session: AsyncSession) -> int:
    return (await session.execute(select(func.count()).select_from(TABLE))).scalar_one()
