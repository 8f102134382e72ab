"""Browser tests over the real system: the four services and the console as uvicorn servers on
free ports (threads), a private nats-server, SQLite in a tmp dir, Debian's chromium driven by
Playwright. Skipped unless FANGPIN_REQUIRE_BROWSER=1; then a missing chromium is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from fangpin_common.clock import SettableClock
from fangpin_common.testing import settings_for

from .support import TODAY

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
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
    servers: list[ServerThread] = []
    try:
        for name, factory, settings_cls, extra in domain:
            settings = settings_for(settings_cls, database, nats_server.url, port=ports[name],
                                    auto_migrate=True, **extra)
            servers.append(ServerThread(factory(settings, clock), ports[name]))
        console = settings_for(
            ConsoleSettings, database, nats_server.url, port=ports["console"],
            run_relay=False, run_consumers=False, run_scanners=False,
            **{f"{name}_url": urls[name] for name, *_ in domain})
        servers.append(ServerThread(console_app(console, clock), ports["console"]))
        for server in servers:  # one at a time: migrations and stream set-up on 2 cores
            server.start()
            server.wait_ready()
        yield System(urls, clock, tmp)
    finally:
        for server in reversed(servers):
            server.stop()


@pytest.fixture(scope="session")
def browser():
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed (apt-get install -y chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()
