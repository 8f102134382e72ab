"""SQLite: committed pages reach the database file through the service's checkpoint loop, not
through the writer's commit (a checkpoint inside a commit stalled the writer)."""

import asyncio
import contextlib
import sqlite3
from datetime import UTC, datetime

from fangpin_common.db import Database
from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import settings_for
from fangpin_monitoring.settings import MonitoringSettings


async def audit_only_database(tmp_path) -> Database:
    db = Database(settings_for(MonitoringSettings, {
        "database_url": f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
        "database_schema": None}, "nats://127.0.0.1:1"))
    async with db.engine.begin() as conn:
        await conn.run_sync(AUDIT_LOG.metadata.create_all, tables=[AUDIT_LOG])
    with contextlib.closing(sqlite3.connect(db.sqlite_file)) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the empty table is in the file
    return db


def rows_in_file(path: str) -> int:
    """Audit rows in the database file itself, the WAL ignored; -1 while a checkpoint is
    writing it (read without locks, the file may be half-written)."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as c:
            return c.execute("SELECT count(*) FROM audit_log").fetchone()[0]
    except sqlite3.DatabaseError:
        return -1


async def write(db: Database, n: int) -> None:
    async with db.unit_of_work() as session:
        await session.execute(AUDIT_LOG.insert(), [
            {"at": datetime(2024, 4, 1, tzinfo=UTC), "actor": "t", "role": "county",
             "entity_type": "row", "entity_id": str(i), "action": "added", "before": None,
             "after": {"text": "防贫监测" * 50}} for i in range(n)])


async def until(condition, seconds: float = 10.0) -> bool:
    for _ in range(int(seconds / 0.01)):
        if condition():
            return True
        await asyncio.sleep(0.01)
    return condition()


async def test_the_checkpoint_loop_moves_committed_pages_into_the_file(tmp_path):
    db = await audit_only_database(tmp_path)
    path = db.sqlite_file
    loop = asyncio.create_task(db.checkpoints(interval=0.01))
    try:
        await write(db, 2000)
        assert await until(lambda: rows_in_file(path) == 2000)
        await write(db, 10)
        assert await until(lambda: rows_in_file(path) == 2010)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
        await db.dispose()


async def test_writers_leave_checkpoints_to_the_loop_up_to_the_backstop(tmp_path):
    db = await audit_only_database(tmp_path)
    try:
        # Some 1,800 pages: past SQLite's own default of 1,000, below the backstop.
        for _ in range(6):
            await write(db, 2000)
        assert rows_in_file(db.sqlite_file) == 0
    finally:
        await db.dispose()
