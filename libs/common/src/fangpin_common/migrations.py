"""Alembic, per service: each service's schema comes from its own `migrations/` folder."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text

from fangpin_common.db import create_engine, ensure_postgres_database
from fangpin_common.settings import ServiceSettings

SERVICES = ("monitoring", "employment", "industry", "notifications", "console")


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"fangpin_{service}")
    # services/<name>/src/fangpin_<name>/__init__.py → services/<name>/migrations
    return Path(package.__file__).resolve().parents[2] / "migrations"


def alembic_config(service: str, settings: ServiceSettings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir(service)))
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


async def upgrade(service: str, settings: ServiceSettings, revision: str = "head") -> None:
    cfg = alembic_config(service, settings)

    def action(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.upgrade(cfg, revision)

    await _run(settings, action)


async def revision(service: str, settings: ServiceSettings, message: str) -> None:
    """Autogenerate a migration from the difference between the models and the head."""
    await upgrade(service, settings)
    cfg = alembic_config(service, settings)

    def action(sync_conn: Any) -> None:
        cfg.attributes["connection"] = sync_conn
        command.revision(cfg, message=message, autogenerate=True)

    await _run(settings, action)


def run_env(context: Any, metadata: MetaData) -> None:
    """The body of every service's `migrations/env.py`."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `fangpin migrate`, which supplies a connection")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade_sync(service: str, settings: ServiceSettings) -> None:
    asyncio.run(upgrade(service, settings))
