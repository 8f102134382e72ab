"""The console's pages: server time per page (p50/p99) against the time the page spent waiting
for the domain services' APIs it calls, in the same requests (the console's Server-Timing
header). Ratio = API time / page time; at least 0.7 over all pages means the console's own
work (session lookup, templates, naming households) is under a third of what pages cost. The
lightest pages (one small API call) stay below it: their fixed ~3 ms is the session read and
the template.

The four services and the console run as uvicorn servers on free ports (threads), with a
private nats-server and SQLite files in a temporary directory; a village of households, grid
visits and reminders is seeded through the APIs first.

    .venv/bin/python bench/console_pages.py [--households 300] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn

from fangpin_common import migrations
from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_common.natsserver import NatsServer
from fangpin_common.testing import COUNTY_CONFIG, TEST_JWKS, settings_for, token_for
from fangpin_monitoring.households.rules import check_digit

TODAY = date(2024, 4, 26)
PASSWORD = "Fangpin-Bench-2024"
TOWNSHIP, VILLAGE = "板榄镇", "板榄村"
TIMING = re.compile(r"(\w+);dur=([\d.]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, app, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> None:
        self.thread.start()
        end = time.monotonic() + 60
        while time.monotonic() < end:
            try:
                if self.server.started and httpx.get(self.url + "/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.url} did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


async def prepare_console(settings, county_file: Path) -> dict:
    from fangpin_console.accounts import service as accounts
    from fangpin_console.accounts.rules import PasswordPolicy
    from fangpin_console.runtime import KeyCache

    await migrations.upgrade("console", settings)
    db = Database(settings)
    try:
        async with db.unit_of_work() as session:
            await accounts.create(
                session, username="bench.village", display_name="韦春花",
                units=[f"village.{VILLAGE}"], password=PASSWORD,
                county=load_county(county_file), policy=PasswordPolicy(), now=datetime.now(UTC),
                actor="bench", actor_role="bench", must_change_password=False)
        return await KeyCache(db, timedelta(hours=24)).jwks()
    finally:
        await db.dispose()


def start_system(tmp: Path, nats_url: str) -> tuple[list[Server], dict[str, str], SettableClock]:
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

    county = load_county(COUNTY_CONFIG)
    county_file = tmp / "county.yaml"
    county_file.write_text(COUNTY_CONFIG.read_text(encoding="utf-8") + (
        f"\nvillages:\n  - {{code: {VILLAGE}, name: {VILLAGE}, "
        f"township: \"{county.township(TOWNSHIP).code}\"}}\n"), encoding="utf-8")
    database = {"database_url": f"sqlite+aiosqlite:///{tmp}/{{service}}.db",
                "database_schema": None}
    clock = SettableClock()
    clock.set_today(TODAY)
    domain = [("monitoring", monitoring_app, MonitoringSettings),
              ("employment", employment_app, EmploymentSettings),
              ("industry", industry_app, IndustrySettings),
              ("notifications", notifications_app, NotificationsSettings)]
    ports = {name: free_port() for name, *_ in domain} | {"console": free_port()}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    # The relay's idle poll as deployed (tests poll faster), so it does not eat page time.
    console = settings_for(ConsoleSettings, database, nats_url, port=ports["console"],
                           county_config=county_file, auto_migrate=True, relay_idle_seconds=0.2,
                           **{f"{n}_url": urls[n] for n, *_ in domain})
    keys = asyncio.run(prepare_console(console, county_file))
    jwks = json.dumps({"keys": json.loads(TEST_JWKS)["keys"] + keys["keys"]})
    servers = [Server(factory(settings_for(cls, database, nats_url, port=ports[name],
                                           county_config=county_file, auto_migrate=True,
                                           relay_idle_seconds=0.2, jwks=jwks), clock),
                      ports[name])
               for name, factory, cls in domain]
    servers.append(Server(console_app(console, clock), ports["console"]))
    for s in servers:
        s.start()
    return servers, urls, clock


def seed(urls: dict[str, str], clock: SettableClock, households: int) -> str:
    """A village's households in one grid area: March's visits missed, April's due soon (the
    reminders of the workbench), one household's page with visits and a warning."""
    token = token_for("village", TOWNSHIP, VILLAGE)
    county = token_for("county")
    headers = {"Authorization": f"Bearer {token}"}
    ids: list[str] = []
    clock.set_today(date(2024, 3, 10))
    with httpx.Client(base_url=urls["monitoring"], headers=headers, timeout=60) as mon:
        for n in range(households):
            first17 = f"450224{1960 + n % 40}0101{n % 1000:03d}"
            r = mon.post("/api/v1/households", json={
                "township": TOWNSHIP, "village": VILLAGE, "category": "脱贫户",
                "address": f"{n % 9 + 1}组", "members": [{
                    "name": f"韦{n:04d}", "id_number": first17 + check_digit(first17),
                    "sex": "男" if int(first17[16]) % 2 else "女",
                    "birth_date": f"{1960 + n % 40}-01-01", "relation": "户主",
                    "labour_capacity": "普通劳动力"}]})
            r.raise_for_status()
            ids.append(r.json()["id"])
        for start in range(0, len(ids), 500):
            mon.post("/api/v1/grid-areas", json={
                "township": TOWNSHIP, "village": VILLAGE, "name": f"第{start // 500 + 1}网格",
                "worker_name": "韦春花", "household_ids": ids[start:start + 500]}
                     ).raise_for_status()
        clock.set_today(TODAY)
        for path in ("/admin/visits/open-deadlines", "/admin/deadlines/scan"):
            mon.post(path, headers={"Authorization": f"Bearer {county}"}).raise_for_status()
        mon.post("/api/v1/visits", json={
            "household_id": ids[0], "visited_on": TODAY.isoformat(), "visitor_name": "韦春花",
            "leaflet_explained": True, "risk_found": True, "risk_types": ["因病"]}
                 ).raise_for_status()
        mon.post("/api/v1/warnings", json={"household_id": ids[0], "source": "入户走访",
                                           "risk_type": "因病", "reason": "户主患病住院"}
                 ).raise_for_status()
    # Reminders are delivered asynchronously: wait until the inbox holds them all.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        inbox = httpx.get(urls["notifications"] + "/api/v1/inbox", headers=headers,
                          params={"limit": 500}).json()
        if len(inbox) >= min(households * 2, 500):
            break
        time.sleep(0.5)
    return ids[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(households: int, rounds: int) -> bool:
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        nats = NatsServer(tmp / "nats")
        nats.start()
        servers: list[Server] = []
        try:
            servers, urls, clock = start_system(tmp, nats.url)
            t0 = time.perf_counter()
            household = seed(urls, clock, households)
            print(f"seeded {households} households in {time.perf_counter() - t0:.1f} s")
            pages = {"我的工作台": "/", "提醒": "/reminders?state=all",
                     "农户搜索": "/households?q=韦0", "农户": f"/households/{household}",
                     "记录走访": f"/households/{household}/visits/new",
                     "识别纳入": "/identifications", "监测帮扶": "/cases",
                     "报表": "/reports/overdue"}
            with httpx.Client(base_url=urls["console"], timeout=60,
                              follow_redirects=False) as client:
                form = client.get("/login")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
                r = client.post("/login", data={"username": "bench.village",
                                                "password": PASSWORD, "next": "/",
                                                "csrf_token": csrf})
                assert r.status_code == 303, r.text
                for path in pages.values():  # warm-up
                    assert client.get(path).status_code == 200, path
                page_ms: dict[str, list[float]] = {k: [] for k in pages}
                api_ms: dict[str, list[float]] = {k: [] for k in pages}
                for _ in range(rounds):
                    for name, path in pages.items():
                        r = client.get(path)
                        assert r.status_code == 200, (path, r.status_code)
                        timing = dict(TIMING.findall(r.headers["server-timing"]))
                        page_ms[name].append(float(timing["page"]))
                        api_ms[name].append(float(timing["api"]))
            print(f"{'page':<10} {'p50 ms':>8} {'p99 ms':>8} {'API p50':>8} {'API p99':>8} "
                  f"{'ratio':>6}")
            for name in pages:
                ratio = sum(api_ms[name]) / sum(page_ms[name])
                print(f"{name:<10} {statistics.median(page_ms[name]):8.1f} "
                      f"{percentile(page_ms[name], 0.99):8.1f} "
                      f"{statistics.median(api_ms[name]):8.1f} "
                      f"{percentile(api_ms[name], 0.99):8.1f} {ratio:6.2f}")
            total = sum(sum(v) for v in api_ms.values()) / sum(sum(v) for v in page_ms.values())
            print(f"all pages: API time / page time = {total:.2f} (target ≥ 0.7)")
            return total >= 0.7
        finally:
            for s in reversed(servers):
                s.stop()
            nats.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    sys.exit(0 if run(args.households, args.rounds) else 1)


if __name__ == "__main__":
    main()
