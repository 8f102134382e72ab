"""Database access shared by the services: one engine and session factory per service.

The same code runs on SQLite (a file per service, WAL, busy timeout, `BEGIN IMMEDIATE` so a
transaction never fails half-way upgrading its lock) and on PostgreSQL (asyncpg, one schema
per service through `search_path`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any
from uuid import UUID

from sqlalchemy import MetaData, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import registry
from sqlalchemy.types import JSON, DateTime, String, TypeDecorator
from sqlmodel.ext.asyncio.session import AsyncSession

from fangpin_common import periodic
from fangpin_common.settings import ServiceSettings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_registry() -> registry:
    """A registry with its own MetaData, so each service's tables (and migrations) are its own.

    Use as `class Base(SQLModel, registry=service_registry()): pass`; the shared
    infrastructure tables (outbox, deadlines, …) are installed into the same metadata.
    """
    from fangpin_common import tables

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    tables.install(metadata)
    return registry(metadata=metadata)


class UTCDateTime(TypeDecorator):
    """An aware UTC datetime on both databases (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(settings: ServiceSettings, read_only: bool = False) -> AsyncEngine:
    url = make_url(settings.resolved_database_url())
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=settings.database_echo, connect_args={"timeout": 30})
        _configure_sqlite(engine, begin="BEGIN" if read_only else "BEGIN IMMEDIATE")
        return engine
    return create_async_engine(
        url,
        echo=settings.database_echo,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        connect_args={"server_settings": {"search_path": settings.schema or "public"}},
    )


# SQLite: WAL checkpoints are left to `Database.checkpoints`, off the writers' path (inside a
# commit, a checkpoint copying pages and syncing the file took a third of a batch's time). A
# writer still checkpoints by itself past this many WAL pages, where that loop does not run
# (a command-line tool, a benchmark's own database).
SQLITE_CHECKPOINT_BACKSTOP_PAGES = 10_000
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=30000",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_BACKSTOP_PAGES}",
    # A WAL that grew under a burst is cut back to this size once checkpointed.
    "PRAGMA journal_size_limit=67108864",
    # 32 MB of page cache (the default 2 MB re-reads index pages on every batch).
    "PRAGMA cache_size=-32768",
)


def _configure_sqlite(engine: AsyncEngine, begin: str) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)


async def ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database of `url` when it does not exist yet."""
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database="postgres", timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", u.database):
            await conn.execute(f'CREATE DATABASE "{u.database}"')
    finally:
        await conn.close()


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def is_postgres(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "postgresql"


def insert_for(on: AsyncSession | AsyncEngine, table: Any) -> Any:
    """The database's own INSERT for `table`, the one with ON CONFLICT (both databases)."""
    engine = on.bind if isinstance(on, AsyncSession) else on
    return (postgresql if engine.dialect.name == "postgresql" else sqlite).insert(table)


class Database:
    """A service's engine and its units of work. A commit that queued outbox rows wakes the relay.

    On SQLite the writers of one process take turns on an asyncio lock rather than on SQLite's
    busy handler, which sleeps in coarse steps; readers use a second engine whose transactions
    begin deferred, so under WAL they never wait for a writer. Units of work do not nest.
    """

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self._factory = session_factory(self.engine)
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._read_engine = create_engine(settings, read_only=True) if self._sqlite else None
        self._read_factory = session_factory(self._read_engine) if self._sqlite else self._factory
        self._write_turn = asyncio.Lock() if self._sqlite else None
        self.on_outbox_commit: list = []
        self._written = False  # since the last checkpoint

    @property
    def sqlite_file(self) -> str | None:
        """The SQLite database file, None on PostgreSQL or in memory."""
        name = self.engine.url.database if self._sqlite else None
        return name if name and name != ":memory:" else None

    def session(self) -> AsyncSession:
        """A session for reading (write through `unit_of_work`)."""
        return self._read_factory()

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """One transaction: commit on success, roll back on any error."""
        from fangpin_common.outbox import MAX_BYTES_KEY, PENDING_FLAG

        async with contextlib.AsyncExitStack() as stack:
            if self._write_turn is not None:
                await stack.enter_async_context(self._write_turn)
            session = await stack.enter_async_context(self._factory())
            # outbox.emit refuses events over this service's limit (a 422, not a stuck row).
            session.info[MAX_BYTES_KEY] = self.settings.event_max_bytes
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise
        self._written = True
        if session.info.pop(PENDING_FLAG, False):
            for wake in self.on_outbox_commit:
                wake()

    async def checkpoints(self, interval: float = 0.25) -> None:
        """SQLite: after writes, checkpoint the WAL on a connection of its own in a thread —
        PASSIVE, so it never waits for nor blocks a writer or a reader. Until cancelled."""
        path = self.sqlite_file
        if path is None:
            return

        def checkpoint() -> None:
            with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
                connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

        async def round_() -> None:
            if self._written:
                self._written = False
                await asyncio.to_thread(checkpoint)

        await periodic.every(interval, round_, "WAL checkpoint")

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self._read_engine is not None:
            await self._read_engine.dispose()


# Below this many rows a plain INSERT is quicker than COPY's extra round trips.
COPY_THRESHOLD = 50


async def bulk_insert(session: AsyncSession, table: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many rows (all with the same keys) in the caller's transaction.

    PostgreSQL gets many through COPY on the session's own connection (an order of magnitude
    faster than executemany for bulk imports); a few rows, and SQLite, through executemany.
    Values pass the columns' bind processing first (UTC datetimes, JSON), so both receive what
    an INSERT would.
    """
    if not rows:
        return
    connection = await session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_THRESHOLD:
        await session.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    records = [tuple(value if process is None or value is None else process(value)
                     for value, process in zip((row[name] for name in columns), processors,
                                               strict=True))
               for row in rows]
    raw = await connection.get_raw_connection()
    if not raw.driver_connection.is_in_transaction():
        # The driver opens the transaction at the first statement: COPY must not run before it
        # (it would commit on its own).
        await connection.exec_driver_sql("SELECT 1")
    try:
        await raw.driver_connection.copy_records_to_table(table.name, columns=columns,
                                                          records=records)
    except Exception as exc:
        from asyncpg.exceptions import IntegrityConstraintViolationError
        from sqlalchemy.exc import IntegrityError

        if isinstance(exc, IntegrityConstraintViolationError):
            # The same exception an INSERT raises, so callers handle both paths alike.
            raise IntegrityError(f"COPY {table.name}", None, exc) from exc
        raise


# SQLite accepts 32766 parameters per statement; stay well below it.
_SQLITE_MAX_PARAMS = 30000


async def insert_new(session: AsyncSession, table: Any, rows: list[dict[str, Any]],
                     returning: str | None = None) -> list[Any] | None:
    """INSERT … ON CONFLICT DO NOTHING of many rows (all with the same keys), in the caller's
    transaction, with as few statements as the driver allows; the values of `returning` for
    the rows actually inserted when it is given.

    The hot paths (a consumed batch and its reminders) spend most of their time in per-row
    statement machinery, so this goes to the driver directly: values pass the columns' bind
    processing (UTC datetimes, JSON) once per distinct value, then PostgreSQL receives one
    statement over column arrays (`INSERT … SELECT … FROM ROWS FROM (…)`), SQLite multi-row
    VALUES.
    """
    if not rows:
        return [] if returning else None
    connection = await session.connection()
    dialect = connection.dialect
    columns = list(rows[0])
    values = _processed_columns(table, columns, rows, dialect)
    prep = dialect.identifier_preparer
    target = prep.format_table(table)
    names = ", ".join(prep.quote(c) for c in columns)
    tail = " ON CONFLICT DO NOTHING" + (f" RETURNING {prep.quote(returning)}" if returning else "")
    if dialect.name == "postgresql":
        # Columns go as JSON arrays of their values, read back row by row with
        # json_array_elements_text: the driver encodes a native array element by element
        # (a sixth of a batch's time); json.dumps is one C call. A column with one value in
        # every row (the batch's time, a state, a rule) is sent once, as a scalar.
        params: list[Any] = []
        selected, arrays = [], []
        for i, name in enumerate(columns):
            type_, column = table.c[name].type, values[i]
            # JSON goes as its text, as the bind processing made it.
            sql_type = "text" if isinstance(type_, (JSON, String)) else \
                type_.compile(dialect=dialect)
            cast = "::json" if isinstance(type_, JSON) else ""
            # The first column stays an array whatever it holds: the rows come from it.
            if i and column.count(column[0]) == len(column):
                params.append(column[0])
                selected.append(f"${len(params)}::{sql_type}{cast}")
            else:
                params.append(json.dumps(column, ensure_ascii=False, allow_nan=False,
                                          default=_json_scalar))
                selected.append(f"u{len(arrays)}" + (f"::{sql_type}" if sql_type != "text"
                                                    else "") + cast)
                arrays.append(f"json_array_elements_text(${len(params)}::json)")
        aliases = ", ".join(f"u{i}" for i in range(len(arrays)))
        sql = (f"INSERT INTO {target} ({names}) SELECT {', '.join(selected)} FROM "
               f"ROWS FROM ({', '.join(arrays)}) AS u({aliases}){tail}")
        result = await connection.exec_driver_sql(sql, tuple(params))
        return [row[0] for row in result] if returning else None
    # SQLite: multi-row VALUES, one statement per chunk. The driver releases the GIL for each
    # step of a statement: executemany steps once per row, and each step then waits for the
    # GIL held by the event loop (a batch of 768 rows took 40× longer under a busy loop); a
    # multi-row insert is written in one step. RETURNING, too, hands back a row per step.
    placeholder = "(" + ", ".join("?" * len(columns)) + ")"
    step = max(_SQLITE_MAX_PARAMS // len(columns), 1)

    async def insert(with_returning: bool) -> tuple[list[Any], int]:
        """The rows, chunk by chunk: the returned values (if asked) and how many went in."""
        end = tail if with_returning else " ON CONFLICT DO NOTHING"
        found, count = [], 0
        for start in range(0, len(rows), step):
            chunk = [column[start:start + step] for column in values]
            n = len(chunk[0])
            sql = f"INSERT INTO {target} ({names}) VALUES {', '.join([placeholder] * n)}{end}"
            result = await connection.exec_driver_sql(
                sql, tuple(chain.from_iterable(zip(*chunk, strict=True))))
            if with_returning:
                found.extend(row[0] for row in result)
            count += result.rowcount
        return found, count

    if not returning:
        await insert(with_returning=False)
        return None
    if returning in columns:
        # Usually every row is new: then the values are the given ones, with no RETURNING.
        # When some row was there already the insert is undone and made again with it.
        await connection.exec_driver_sql("SAVEPOINT insert_new")
        _, count = await insert(with_returning=False)
        if count == len(rows):
            await connection.exec_driver_sql("RELEASE insert_new")
            return [row[returning] for row in rows]
        await connection.exec_driver_sql("ROLLBACK TO insert_new")
        await connection.exec_driver_sql("RELEASE insert_new")
    found, _ = await insert(with_returning=True)
    return found


def _json_scalar(value: Any) -> str:
    """A bound value JSON has no type for, as PostgreSQL reads it back from text."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    raise TypeError(f"{type(value).__name__} cannot be sent in a JSON column array")


def _processed_columns(table: Any, columns: list[str], rows: list[dict[str, Any]],
                       dialect: Any) -> list[tuple[Any, ...]]:
    """Each column's values as the driver receives them; a value object repeated across rows
    (the batch's time, an event's data for each of its recipients) is processed once."""
    out = list(zip(*map(itemgetter(*columns), rows), strict=True)) if len(columns) > 1 \
        else [tuple(row[columns[0]] for row in rows)]
    for i, name in enumerate(columns):
        process = table.c[name].type._cached_bind_processor(dialect)
        if process is not None:
            # By identity: the rows hold every value, so no id is reused meanwhile.
            ids = list(map(id, out[i]))
            done = {key: None if value is None else process(value)
                    for key, value in dict(zip(ids, out[i], strict=True)).items()}
            out[i] = tuple(map(done.__getitem__, ids))
    return out
