"""Notifications is killed (SIGKILL) mid-stream and restarted: every case.opened is handled
exactly once — none lost, none twice."""

import asyncio
import os
import subprocess
import sys

import httpx
from sqlalchemy import func, select

from fangpin_common.clock import SettableClock
from fangpin_common.db import Database
from fangpin_common.natsserver import free_port, wait_for_port
from fangpin_common.tables import OUTBOX
from fangpin_common.testing import (
    COUNTY_CONFIG,
    REPO_ROOT,
    auth,
    eventually,
    running,
    settings_for,
    token_for,
)
from fangpin_monitoring.main import create_app as monitoring_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.settings import NotificationsSettings

from .conftest import FAULT, INCLUSIONS, TODAY, case_for, caught_up, create_households

pytestmark = FAULT
PLATFORM = auth(token_for("platform"))
COUNTY = auth(token_for("county"))
CASES = 600
OPENED = "fangpin.monitoring.case.opened"


class NotificationsProcess:
    """The notifications service as a real process (uvicorn), so it can be killed."""

    def __init__(self, settings: NotificationsSettings, log_path) -> None:
        self.port = free_port()
        self.env = os.environ | {
            "FANGPIN_DATABASE_URL": settings.database_url,
            "FANGPIN_NATS_URL": settings.nats_url,
            "FANGPIN_COUNTY_CONFIG": str(COUNTY_CONFIG),
            "FANGPIN_AUTO_MIGRATE": "true",
            "FANGPIN_CONSUMER_ACK_WAIT_SECONDS": "5",
            "FANGPIN_LOG_LEVEL": "WARNING",
            # Small batches: the stream is many transactions, so a kill falls among them (a
            # whole backlog would otherwise take the service a fraction of a second).
            "FANGPIN_NOTIFICATIONS_CONSUMER_BATCH_SIZE": "16",
        }
        if settings.database_schema:
            self.env["FANGPIN_DATABASE_SCHEMA"] = settings.database_schema
        self.log = open(log_path, "ab")  # noqa: SIM115
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory",
             "fangpin_notifications.main:create_app", "--port", str(self.port)],
            env=self.env, cwd=REPO_ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port("127.0.0.1", self.port, timeout=60)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        self.log.close()

    async def counts(self) -> tuple[int, int]:
        """(distinct case.opened events in the county inbox, reminders of that type)."""
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            seen: list[str] = []
            offset = 0
            while True:
                r = await client.get("/api/v1/inbox", headers=COUNTY,
                                     params={"limit": 500, "offset": offset})
                r.raise_for_status()
                page = r.json()
                seen += [item["event_id"] for item in page if item["event_type"] == OPENED]
                if len(page) < 500:
                    return len(set(seen)), len(seen)
                offset += 500


async def test_notifications_killed_mid_stream(database, private_nats, tmp_path):
    clock = SettableClock()
    clock.set_today(TODAY)
    monitoring = monitoring_app(settings_for(MonitoringSettings, database, private_nats.url),
                                clock)
    settings = settings_for(NotificationsSettings, database, private_nats.url)
    notifications = NotificationsProcess(settings, tmp_path / "notifications.log")
    try:
        async with running(monitoring) as mon:
            households = await create_households(monitoring, CASES)
            for start in range(0, CASES, 20):
                await asyncio.gather(*(
                    mon.post(INCLUSIONS, json=case_for(h), headers=PLATFORM)
                    for h in households[start:start + 20]))
            # Started on a backlog (its durable consumer reads the stream from the start), so
            # that it cannot keep pace with the cases being opened and the kill finds it busy.
            await eventually(lambda: _relayed(monitoring), timeout=60)
            notifications.start()
            # Kill it while it is working through the stream, then bring it back.
            await eventually(lambda: _at_least(notifications, CASES // 5), timeout=120)
            notifications.kill()
            # Counted while nothing runs (a restarted service may finish the rest at once).
            killed_at = await _stored(settings)
            assert killed_at < CASES, "the kill should have come mid-stream"
            notifications.start()
            await eventually(lambda: _at_least(notifications, CASES), timeout=240,
                             interval=0.5)
            # Everything published, delivered and acked: a late duplicate would be in now.
            await eventually(lambda: _relayed(monitoring), timeout=60)
            await eventually(lambda: caught_up(private_nats.url, "FANGPIN_MONITORING",
                                               "notifications-monitoring"), timeout=60,
                             interval=0.2)
            assert await notifications.counts() == (CASES, CASES)
    finally:
        notifications.stop()


async def _relayed(app) -> bool:
    """Every queued event has reached JetStream."""
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(OUTBOX))).scalar() == 0


async def _at_least(process: NotificationsProcess, n: int) -> bool:
    try:
        return (await process.counts())[0] >= n
    except httpx.HTTPError:
        return False


async def _stored(settings: NotificationsSettings) -> int:
    """case.opened events with a reminder in the database."""
    db = Database(settings)
    try:
        async with db.session() as session:
            return (await session.execute(
                select(func.count(func.distinct(Reminder.event_id)))
                .where(Reminder.event_type == OPENED))).scalar()
    finally:
        await db.dispose()
