"""While 2,000 cases are created, nats-server is killed and restarted twice: the consumer side
handles exactly 2,000 case.opened events — none lost, none twice."""

import asyncio

from sqlalchemy import func, select, text

from fangpin_common.clock import SettableClock
from fangpin_common.tables import OUTBOX
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_monitoring.main import create_app as monitoring_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_notifications.main import create_app as notifications_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import (
    FAULT,
    INCLUSIONS,
    TODAY,
    case_for,
    caught_up,
    count_handled,
    create_households,
)

pytestmark = FAULT
PLATFORM = auth(token_for("platform"))
CASES = 2000
OPENED = "fangpin.monitoring.case.opened"


async def test_nats_killed_twice_while_cases_are_created(database, private_nats):
    clock = SettableClock()
    clock.set_today(TODAY)
    monitoring = monitoring_app(settings_for(MonitoringSettings, database, private_nats.url),
                                clock)
    notifications = notifications_app(
        settings_for(NotificationsSettings, database, private_nats.url), clock)
    created = 0

    async def create(household_id: str) -> None:
        nonlocal created
        r = await mon.post(INCLUSIONS, json=case_for(household_id), headers=PLATFORM)
        assert r.status_code == 200, r.text
        created += 1

    async def outages() -> None:
        for at in (CASES // 4, CASES * 2 // 3):
            await eventually(lambda at=at: created >= at, timeout=300)
            private_nats.stop(kill=True)
            await asyncio.sleep(1.5)
            private_nats.start()

    async with running(monitoring) as mon, running(notifications):
        households = await create_households(monitoring, CASES)
        chaos = asyncio.create_task(outages())
        for start in range(0, CASES, 20):
            await asyncio.gather(*(create(h) for h in households[start:start + 20]))
        await chaos

        async def all_handled():
            return (await count_handled(notifications.state.db, OPENED)) == (CASES, CASES)

        await eventually(all_handled, timeout=180, interval=0.5)
        # Nothing left to publish, nothing left to deliver: a late duplicate would be in now.
        await eventually(lambda: outbox_empty(monitoring), timeout=60, interval=0.2)
        await eventually(lambda: caught_up(private_nats.url, "FANGPIN_MONITORING",
                                           "notifications-monitoring"), timeout=60, interval=0.2)
        assert await count_handled(notifications.state.db, OPENED) == (CASES, CASES)
        async with notifications.state.db.session() as session:
            reminders = (await session.execute(text(
                "SELECT count(*) FROM reminders WHERE event_type = :t"), {"t": OPENED})).scalar()
        assert reminders == 2 * CASES  # the township and the county bureau, once each
        published = sum(s.value for m in monitoring.state.metrics.registry.collect()
                        if m.name == "fangpin_events_publish_failed" for s in m.samples
                        if s.name.endswith("_total"))
        assert published > 0, "the outages should have made some publishes fail and retry"


async def outbox_empty(app) -> bool:
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(OUTBOX))).scalar_one() == 0
