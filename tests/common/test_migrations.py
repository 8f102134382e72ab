"""The shared tables' one history (the `common` branch) in every service's environment, and
the upgrade of a database made before it existed: the shared tables' data survive."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, date, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from fangpin_common import migrations
from fangpin_common.db import create_engine
from fangpin_common.tables import SHARED_TABLES
from fangpin_common.testing import settings_for

AT = datetime(2024, 4, 1, 2, 3, 4, tzinfo=UTC)


def service_settings(service: str, database):
    module = importlib.import_module(f"fangpin_{service}.settings")
    cls = getattr(module, f"{service.capitalize()}Settings")
    return settings_for(cls, database, "nats://127.0.0.1:1")


def script(service: str, settings) -> ScriptDirectory:
    return ScriptDirectory.from_config(migrations.alembic_config(service, settings))


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("service", migrations.SERVICES)
def test_every_service_includes_the_common_branch(service, database):
    settings = service_settings(service, database)
    scripts = script(service, settings)
    heads = set(scripts.get_heads())
    common_head = scripts.get_revision("common@head").revision
    assert heads == {migrations.service_head(service, settings), common_head}
    bases = [r for r in scripts.walk_revisions() if r.down_revision is None
             and r.revision != migrations.COMMON_BASE]
    (base,) = bases
    assert base.dependencies == migrations.COMMON_BASE
    # No revision of the service creates, alters or drops a shared table.
    for revision in scripts.walk_revisions():
        if migrations.COMMON_VERSIONS in __import__("pathlib").Path(revision.path).parents:
            continue
        with open(revision.path, encoding="utf-8") as file:
            source = file.read()
        for table in SHARED_TABLES:
            assert not re.search(rf"""(table|create_table|drop_table)\(\s*['"]{table}['"]""",
                                 source), (revision.path, table)


async def _execute(settings, *statements) -> list:
    engine = create_engine(settings)
    out = []
    try:
        async with engine.begin() as conn:
            for statement, params in statements:
                result = await conn.execute(text(statement), params)
                out.append(result.all() if result.returns_rows else None)
    finally:
        await engine.dispose()
    return out


async def _at_the_old_head(service: str, settings) -> str:
    """A database as the code before the common branch left it: the service's head applied,
    the shared tables made by (what was) its initial revision, only its head recorded."""
    head = migrations.service_head(service, settings)
    await migrations.upgrade(service, settings, head)
    await _execute(settings, ("DELETE FROM alembic_version WHERE version_num <> :head",
                              {"head": head}))
    return head


LEGACY_ROWS = [
    ("INSERT INTO outbox (id, event_type, payload, created_at, available_at, attempts, "
     "last_error) VALUES ('e-1', 'fangpin.x.y', :payload, :at, :at, 3, 'boom')",
     {"payload": b'{"id": "e-1"}', "at": AT.replace(tzinfo=None)}),
    ("INSERT INTO processed_events (consumer, event_id, event_type, processed_at) "
     "VALUES ('c', 'e-0', 'fangpin.x.y', :at)", {"at": AT.replace(tzinfo=None)}),
    # Two unparseable letters (empty id): the old unique key allowed one per consumer.
    ("INSERT INTO dead_letters (consumer, event_id, event_type, payload, error, deliveries, "
     "state, created_at) VALUES ('c', '', 'fangpin.x.y', :payload, 'not an event', 1, "
     "'open', :at)", {"payload": b"\xff garbage", "at": AT.replace(tzinfo=None)}),
    ("INSERT INTO dead_letters (consumer, event_id, event_type, payload, error, deliveries, "
     "state, created_at) VALUES ('c', 'e-9', 'fangpin.x.y', :payload, 'handler', 5, "
     "'replayed', :at)", {"payload": b'{"id": "e-9"}', "at": AT.replace(tzinfo=None)}),
    ("INSERT INTO deadlines (id, kind, subject_type, subject_id, started_on, due_on, "
     "due_soon_on, state, context, created_at) VALUES ('d-1', 'case.helper', 'case', 'k-1', "
     ":d, :d, :d, 'open', '{\"a\": 1}', :at)",
     {"d": date(2024, 4, 1), "at": AT.replace(tzinfo=None)}),
    ("INSERT INTO audit_log (at, actor, role, entity_type, entity_id, action, before, after) "
     "VALUES (:at, 'u', 'county', 'household', 'h-1', 'update', '{\"v\": 1}', '{\"v\": 2}')",
     {"at": AT.replace(tzinfo=None)}),
]


@pytest.mark.parametrize("service", migrations.SERVICES)
async def test_a_database_from_before_the_common_branch_upgrades_with_its_data(service,
                                                                               database):
    settings = service_settings(service, database)
    head = await _at_the_old_head(service, settings)
    if settings.is_postgres:  # timestamps with a zone there
        await _execute(settings, ("SET TIME ZONE 'UTC'", {}))
    await _execute(settings, *LEGACY_ROWS)

    await migrations.upgrade(service, settings)

    versions, outbox, processed, letters, deadlines, audit_rows, moved = await _execute(
        settings,
        ("SELECT version_num FROM alembic_version ORDER BY 1", {}),
        ("SELECT id, event_type, payload, attempts, last_error FROM outbox", {}),
        ("SELECT consumer, event_id FROM processed_events", {}),
        ("SELECT id, consumer, event_id, event_type, payload, error, deliveries, state, "
         "message_key FROM dead_letters ORDER BY id", {}),
        ("SELECT id, kind, subject_id, state FROM deadlines", {}),
        ("SELECT actor, entity_id, action FROM audit_log", {}),
        ("SELECT count(*) FROM outbox_dead_letters", {}),
    )
    common_head = script(service, settings).get_revision("common@head").revision
    assert sorted(v for (v,) in versions) == sorted([head, common_head])
    assert [tuple(r) for r in outbox] == [("e-1", "fangpin.x.y", b'{"id": "e-1"}', 3, "boom")]
    assert [tuple(r) for r in processed] == [("c", "e-0")]
    (first, second) = letters
    assert (first.consumer, first.event_id, bytes(first.payload), first.error, first.state,
            first.message_key) == ("c", None, b"\xff garbage", "not an event", "open",
                                   f"legacy:{first.id}")
    assert (second.event_id, second.deliveries, second.state, second.message_key) == (
        "e-9", 5, "replayed", f"legacy:{second.id}")
    assert [tuple(r) for r in deadlines] == [("d-1", "case.helper", "k-1", "open")]
    assert [tuple(r) for r in audit_rows] == [("u", "h-1", "update")]
    assert moved == [(0,)]

    # Now more than one unparseable letter per consumer fits (the bug of issue 12).
    await _execute(settings, *[
        ("INSERT INTO dead_letters (consumer, message_key, payload, error, deliveries, state, "
         "created_at) VALUES ('c', :key, :payload, 'x', 1, 'open', :at)",
         {"key": f"FANGPIN_MONITORING:{n}", "payload": b"", "at": AT.replace(tzinfo=None)})
        for n in (1, 2)])
    # Upgrading again changes nothing.
    await migrations.upgrade(service, settings)


@pytest.mark.parametrize("service", migrations.SERVICES)
async def test_the_migrated_shared_tables_are_the_models(service, database):
    """tables.py and the common branch agree: nothing left for autogenerate to write."""
    settings = service_settings(service, database)
    await migrations.upgrade(service, settings)
    importlib.import_module(f"fangpin_{service}.main")
    metadata = importlib.import_module(f"fangpin_{service}.base").metadata
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), metadata))
    finally:
        await engine.dispose()

    def table_of(diff) -> str | None:
        for item in diff if isinstance(diff, list) else [diff]:
            for part in item[1:] if isinstance(item, tuple) else []:
                name = getattr(part, "name", None) if not isinstance(part, str) else part
                table = getattr(part, "table", None)
                if table is not None:
                    return table.name
                if name in SHARED_TABLES:
                    return name
        return None

    assert [d for d in diffs if table_of(d) in SHARED_TABLES] == []
    # The check itself sees a shared table's drift: a column the migrations never made
    # (on a copy: the service's metadata is the process's).
    from sqlalchemy import Column, Integer, MetaData

    drifted = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["dead_letters"].append_column(Column("not_migrated", Integer))
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), drifted))
    finally:
        await engine.dispose()
    assert [table_of(d) for d in diffs if table_of(d) in SHARED_TABLES] == ["dead_letters"]


async def test_a_new_service_gets_the_shared_tables_from_the_common_branch(database):
    """The console (port 8005) has no revision of its own yet: including the branch is all."""
    from fangpin_console.settings import ConsoleSettings

    settings = settings_for(ConsoleSettings, database, "nats://127.0.0.1:1")
    await migrations.upgrade("console", settings)
    counts = await _execute(settings, *[(f"SELECT count(*) FROM {t}", {}) for t in SHARED_TABLES])
    assert counts == [[(0,)]] * len(SHARED_TABLES)
