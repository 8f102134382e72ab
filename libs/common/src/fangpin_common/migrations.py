"""Alembic, per service, with one shared branch for the tables of the common mechanisms.

Layout
------
- `services/<name>/migrations/versions/`: the service's own tables, one linear history.
- `fangpin_common/shared_migrations/`: the branch labelled `common` — the tables every service
  has (outbox, outbox_dead_letters, processed_events, dead_letters, deadlines, audit_log,
  see `tables.py`). Every service's environment includes it (`version_locations`), so one
  revision here is applied in each service's database or schema by its own `upgrade`.

A service's database therefore has two heads in `alembic_version`: its own and `common`'s.

Adding a service
----------------
Its `migrations/env.py` calls `run_env` like the others (nothing else to configure: the
common branch is added by `alembic_config`). Its first revision does NOT create the shared
tables (`fangpin makemigrations` leaves them out) and declares
`depends_on = "common_0001"`, so the shared tables exist before its own revisions run.

Changing a shared table
-----------------------
Edit `tables.py` and write ONE revision in `shared_migrations/` whose `down_revision` is the
current `common` head (`fangpin makemigrations common -m "…"` generates it). Never change a
shared table from a service's revision: service autogeneration ignores the shared tables.
"""

from __future__ import annotations

import asyncio
import importlib
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text

from fangpin_common.db import create_engine, ensure_postgres_database
from fangpin_common.settings import ServiceSettings

SERVICES = ("monitoring", "employment", "industry", "notifications", "console")
# The pseudo-service of `fangpin makemigrations common`: the shared branch, generated in
# the environment of this service (any service has every shared table).
COMMON = "common"
COMMON_BRANCH = "common"
COMMON_BASE = "common_0001"
COMMON_VERSIONS = Path(__file__).resolve().parent / "shared_migrations"


def shared_tables() -> frozenset[str]:
    from fangpin_common import tables

    return frozenset(tables.SHARED_TABLES)


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"fangpin_{service}")
    # services/<name>/src/fangpin_<name>/__init__.py → services/<name>/migrations
    return Path(package.__file__).resolve().parents[2] / "migrations"


def alembic_config(service: str, settings: ServiceSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
    # The service's history and the shared branch, in every service's environment.
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", os.pathsep.join(
        [str(migrations_dir(service) / "versions"), str(COMMON_VERSIONS)]))
    cfg.attributes["settings"] = settings
    return cfg


async def _run(settings: ServiceSettings, action: Any) -> None:
    if settings.is_postgres:
        await ensure_postgres_database(settings.resolved_database_url())
    engine = create_engine(settings)
    try:
        if settings.schema:
            async with engine.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"'))
        async with engine.connect() as conn:
            await conn.run_sync(action)
            await conn.commit()
    finally:
        await engine.dispose()


async def upgrade(service: str, settings: ServiceSettings, revision: str = "heads") -> None:
    # "head" is kept as a spelling of "heads": a service has two (its own and the common one).
    revision = "heads" if revision == "head" else revision
    cfg = alembic_config(service, settings)

    def action(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    await _run(settings, action)


def service_head(service: str, settings: ServiceSettings) -> str | None:
    """The head of the service's own history (the other head is the common branch's); None
    for a new service without a revision yet."""
    script = ScriptDirectory.from_config(alembic_config(service, settings))
    common = {r.revision for r in script.walk_revisions() if Path(r.path).parent == COMMON_VERSIONS}
    heads = [h for h in script.get_heads() if h not in common]
    if len(heads) > 1:
        raise RuntimeError(f"{service}: expected one head of its own, found {heads}")
    return heads[0] if heads else None


async def revision(service: str, settings: ServiceSettings, message: str) -> None:
    """Autogenerate a migration from the difference between the models and the heads.

    For a service: its own tables, on its own head. For `common` (run in the environment of
    `settings.service_name`): the shared tables, on the common head.
    """
    env_service = settings.service_name if service == COMMON else service
    await upgrade(env_service, settings)
    cfg = alembic_config(env_service, settings)
    cfg.attributes["only"] = "shared" if service == COMMON else "own"
    depends_on = None
    if service == COMMON:
        head, version_path = f"{COMMON_BRANCH}@head", str(COMMON_VERSIONS)
    else:
        version_path = str(migrations_dir(service) / "versions")
        Path(version_path).mkdir(exist_ok=True)
        head = service_head(service, settings)
        if head is None:  # a new service's first revision: after the shared tables
            head, depends_on = "base", COMMON_BASE

    def action(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.revision(cfg, message=message, autogenerate=True, head=head,
                         version_path=version_path, depends_on=depends_on)

    await _run(settings, action)


def run_env(context: Any, metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `fangpin migrate`, which supplies a connection")
    only = context.config.attributes.get("only", "own")
    shared = shared_tables()

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                       compare_to: Any) -> bool:
        # Autogeneration writes a shared table's change into the common branch only.
        table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
        if table is None:
            return True
        return (table in shared) == (only == "shared")

    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade_sync(service: str, settings: ServiceSettings) -> None:
    asyncio.run(upgrade(service, settings))
