"""Browser tests over the real system: the four services and the console as uvicorn servers on
free ports (threads), a private nats-server, SQLite in a tmp dir, Debian's chromium driven by
Playwright. Skipped unless FANGPIN_REQUIRE_BROWSER=1; then a missing chromium is a failure.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fangpin_common.clock import SettableClock
from fangpin_common.testing import COUNTY_CONFIG, TEST_JWKS, settings_for

from .support import COUNTY, PASSWORD, PEOPLE, TODAY, VILLAGES

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--lang=zh-CN",
                 "--disable-component-update", "--no-first-run"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("FANGPIN_REQUIRE_BROWSER"):
        return
    skip = pytest.mark.skip(reason="browser tests run with FANGPIN_REQUIRE_BROWSER=1")
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """One service under uvicorn in its own thread (its own event loop)."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True,
                                       name=f"uvicorn:{port}")

    def start(self) -> None:
        self.thread.start()

    def wait_ready(self, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.server.started:
                try:
                    if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
            if not self.thread.is_alive():
                raise RuntimeError(f"server on {self.port} stopped while starting")
            time.sleep(0.1)
        raise RuntimeError(f"server on {self.port} not ready within {timeout}s")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@dataclass
class System:
    urls: dict[str, str]
    clock: SettableClock
    tmp: Path

    @property
    def console(self) -> str:
        return self.urls["console"]

    def call(self, service: str, method: str, path: str, token: str, **kwargs: Any) -> Any:
        r = httpx.request(method, self.urls[service] + path, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}, **kwargs)
        assert r.status_code < 400, (r.status_code, r.text)
        return r.json() if r.content else None

    def eventually(self, check, timeout: float = 20.0) -> Any:
        end = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > end:
                raise AssertionError(f"not within {timeout}s: {result!r}")
            time.sleep(0.1)


def county_file(tmp: Path) -> Path:
    """The county file with the journeys' village listed (its committee has accounts)."""
    text = COUNTY_CONFIG.read_text(encoding="utf-8")
    text += "\nvillages:\n" + "".join(
        f"  - {{code: {v}, name: {v}, township: \"{COUNTY.township(t).code}\"}}\n"
        for t, v in VILLAGES)
    path = tmp / "county.yaml"
    path.write_text(text, encoding="utf-8")
    return path


async def prepare_console(settings) -> dict[str, Any]:
    """The console's database, signing key and the journeys' accounts, before it starts;
    returns the console's public keys (the domain services trust them)."""
    from fangpin_common import migrations
    from fangpin_common.county import load_county
    from fangpin_common.db import Database
    from fangpin_console.accounts import service as accounts
    from fangpin_console.accounts.rules import PasswordPolicy
    from fangpin_console.runtime import KeyCache

    await migrations.upgrade("console", settings)
    db = Database(settings)
    try:
        county = load_county(settings.county_config)
        async with db.unit_of_work() as session:
            for person in PEOPLE:
                await accounts.create(
                    session, username=person.username, display_name=person.display_name,
                    units=[person.unit], password=PASSWORD, county=county,
                    policy=PasswordPolicy(), now=datetime.now(UTC), actor="test",
                    actor_role="test", is_admin=person.admin, must_change_password=False)
        return await KeyCache(db, timedelta(hours=24)).jwks()
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def system(nats_server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    from fangpin_console.main import create_app as console_app
    from fangpin_console.settings import ConsoleSettings
    from fangpin_employment.main import create_app as employment_app
    from fangpin_employment.settings import EmploymentSettings
    from fangpin_industry.main import create_app as industry_app
    from fangpin_industry.settings import IndustrySettings
    from fangpin_monitoring.main import create_app as monitoring_app
    from fangpin_monitoring.settings import MonitoringSettings
    from fangpin_notifications.main import create_app as notifications_app
    from fangpin_notifications.settings import NotificationsSettings

    tmp = tmp_path_factory.mktemp("system")
    database = {"database_url": f"sqlite+aiosqlite:///{tmp}/{{service}}.db",
                "database_schema": None}
    county = county_file(tmp)
    clock = SettableClock()
    clock.set_today(TODAY)
    ports = {name: free_port() for name in
             ("monitoring", "employment", "industry", "notifications", "console")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    domain = [
        ("monitoring", monitoring_app, MonitoringSettings, {}),
        ("employment", employment_app, EmploymentSettings, {}),
        ("industry", industry_app, IndustrySettings, {}),
        ("notifications", notifications_app, NotificationsSettings,
         {"dispatcher_idle_seconds": 0.1}),
    ]
    console_settings = settings_for(
        ConsoleSettings, database, nats_server.url, port=ports["console"], county_config=county,
        auto_migrate=True, **{f"{name}_url": urls[name] for name, *_ in domain})
    # In a thread of its own: this thread may hold another event loop (pytest-asyncio's).
    with ThreadPoolExecutor(1) as pool:
        console_keys = pool.submit(asyncio.run, prepare_console(console_settings)).result()
    # The services trust the console's key (pages) and the tests' key (seeding by API).
    jwks = json.dumps({"keys": json.loads(TEST_JWKS)["keys"] + console_keys["keys"]})
    servers: list[ServerThread] = []
    try:
        for name, factory, settings_cls, extra in domain:
            settings = settings_for(settings_cls, database, nats_server.url, port=ports[name],
                                    county_config=county, auto_migrate=True, jwks=jwks, **extra)
            servers.append(ServerThread(factory(settings, clock), ports[name]))
        servers.append(ServerThread(console_app(console_settings, clock), ports["console"]))
        for server in servers:  # one at a time: migrations and stream set-up on 2 cores
            server.start()
            server.wait_ready()
        yield System(urls, clock, tmp)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module: Playwright's sync API keeps an event loop of its own in this
    thread while it is open, which the asyncio tests of other modules must not meet."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()
