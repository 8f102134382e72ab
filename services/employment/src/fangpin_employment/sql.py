"""Set-based SQL the service needs on both databases (bulk upserts, dialect bits)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.db import insert_for

# PostgreSQL (asyncpg) allows 32767 bind parameters per statement; stay well below.
MAX_PARAMS = 30000


def dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name  # type: ignore[union-attr]


def chunks(rows: Sequence[dict[str, Any]], width: int) -> Iterable[Sequence[dict[str, Any]]]:
    size = max(1, MAX_PARAMS // max(width, 1))
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                 keys: Sequence[str], update: Sequence[str] | None = None) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE SET update (or DO NOTHING)."""
    if not rows:
        return
    stmt = insert_for(session, table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={c: getattr(stmt.excluded, c) for c in update})
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
    # executemany: compiled once, the driver sends the rows (a multi-VALUES statement would
    # be compiled anew for every batch, which costs more than the database's work).
    await session.execute(stmt, list(rows))


def random_id(session: AsyncSession):
    """A random text id computed by the database (for INSERT … SELECT)."""
    if dialect(session) == "postgresql":
        return func.cast(func.gen_random_uuid(), postgresql.TEXT)
    return func.lower(func.hex(func.randomblob(16)))


def json_object(session: AsyncSession, *pairs):
    return (func.json_build_object if dialect(session) == "postgresql" else func.json_object)(
        *pairs)
