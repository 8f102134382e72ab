"""What several benches share: where PostgreSQL is, synthetic resident IDs, a database of
their own, per-step peak memory and the figure lines they print."""

from __future__ import annotations

import os
import resource
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from fangpin_common.db import Database, ensure_postgres_database
from fangpin_monitoring.households.rules import check_digit

ROOT = Path(__file__).resolve().parents[1]
COUNTY_FILE = ROOT / "config" / "county.yaml"
POSTGRES_URL = os.environ.get("FANGPIN_TEST_POSTGRES_URL",
                              "postgresql+asyncpg://postgres@127.0.0.1:5432/fangpin_test")


def resident_id(area: str, born: date, sequence: int) -> str:
    """An 18-digit resident ID with a valid check digit; `sequence` (0…999) includes the sex
    digit (odd for men)."""
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_digit(first17)


async def pg_connect(url: str, database: str | None = None) -> asyncpg.Connection:
    u = make_url(url)
    return await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=database or u.database)


@asynccontextmanager
async def own_database(url: str, name: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database named `name` on the server of `url`, dropped afterwards;
    yields its URL."""
    own = make_url(url).set(database=name).render_as_string(hide_password=False)
    await ensure_postgres_database(url)  # the server's maintenance connection needs one
    admin = await pg_connect(url, "postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield own
    finally:
        admin = await pg_connect(url, "postgres")
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@asynccontextmanager
async def monitoring_database(backend: str) -> AsyncIterator[Database]:
    """The monitoring service's database, migrated and empty: a temporary SQLite file, or a
    schema of its own on PostgreSQL, dropped afterwards."""
    from fangpin_common import migrations
    from fangpin_common.testing import drop_schema
    from fangpin_monitoring.settings import MonitoringSettings

    schema = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='fangpin-bench-')}/{{service}}.db"
    else:
        url, schema = POSTGRES_URL, f"bench_{uuid.uuid4().hex[:8]}"
    settings = MonitoringSettings(_env_file=None, database_url=url, database_schema=schema,
                                  county_config=COUNTY_FILE)
    await migrations.upgrade("monitoring", settings)
    db = Database(settings)
    try:
        yield db
    finally:
        await db.dispose()
        if schema:
            await drop_schema(POSTGRES_URL, schema)


class PeakMemory:
    """The process's RSS high-water mark for one step. Linux lets a process reset its own
    mark (clear_refs 5), so each step's peak is its own, not an earlier step's; elsewhere the
    whole-process maximum is reported, marked with '≥'."""

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self.resettable = _reset_hwm()
        self.start_mb = _status("VmRSS:") if self.resettable else 0.0

    def peak_mb(self) -> float:
        if self.resettable:
            return _status("VmHWM:")
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _status(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def line(label: str, seconds: float, rows: int | None = None, unit: str = "rows",
         width: int = 44) -> str:
    rate = f"{rows / seconds:>12,.0f} {unit}/s" if rows and seconds > 0 else ""
    return f"  {label:<{width}} {seconds:>9.2f} s {rate}"
