"""Insert-if-absent on both databases: the atomic claim behind "exactly once"."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.db import insert_for


async def insert_if_absent(session: AsyncSession, table: Table, values: Mapping[str, Any],
                           conflict: Sequence[str]) -> bool:
    """Insert the row unless one with the same `conflict` key exists; True if inserted.

    On PostgreSQL a concurrent transaction inserting the same key waits for the first to
    commit and then inserts nothing, so of two racing writers exactly one wins.
    """
    stmt = (insert_for(session, table).values(**values)
            .on_conflict_do_nothing(index_elements=list(conflict))
            .returning(table.c[next(iter(table.primary_key.columns)).name]))
    return (await session.execute(stmt)).first() is not None
