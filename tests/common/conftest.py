"""A small service built from the common kit alone, to test the shared mechanisms.

It uses real catalogue events (case.opened as a numbered "ping", the case.helper deadline
kind) so that nothing test-only enters the published catalogue.
"""

from datetime import date

import pytest
from sqlalchemy import select

from fangpin_common.clock import SettableClock
from fangpin_common.consumer import Subscription
from fangpin_common.events.monitoring import CaseOpened, CaseOpenedData
from fangpin_common.service import ServiceSpec, build_app
from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import settings_for
from fangpin_monitoring.cases.events import DEADLINE_EVENTS
from fangpin_monitoring.settings import MonitoringSettings

PING = CaseOpened.event_type()


def ping(n: int, fail_times: int = 0) -> CaseOpened:
    """Ping number n; its handler fails `fail_times` times before it succeeds."""
    return CaseOpened(subject=f"ping-{n}", data=CaseOpenedData(
        case_id=f"ping-{n}", household_id="h", township="450224103", village="v",
        category=f"fail:{fail_times}", risk_types=["其他"], inclusion_date=date(2024, 4, 1)))


class Handled:
    """The test consumer: writes one audit row per ping it applies; can be told to fail."""

    def __init__(self) -> None:
        self.calls = 0
        self.failures: dict[int, int] = {}

    async def handle(self, session, event) -> None:
        self.calls += 1
        n = int(event.data.case_id.removeprefix("ping-"))
        fail_times = int(event.data.category.removeprefix("fail:"))
        if self.failures.get(n, 0) < fail_times:
            self.failures[n] = self.failures.get(n, 0) + 1
            raise RuntimeError(f"injected failure {self.failures[n]} for ping {n}")
        await session.execute(AUDIT_LOG.insert().values(
            at=event.time, actor="consumer", role="county", entity_type="ping",
            entity_id=str(n), action="seen", before=None, after=None))


async def effects(app) -> list[int]:
    async with app.state.db.session() as session:
        rows = await session.execute(select(AUDIT_LOG.c.entity_id)
                                     .where(AUDIT_LOG.c.entity_type == "ping"))
        return sorted(int(r[0]) for r in rows)


def kit_app(database, nats_url, handled: Handled, clock=None, durable="kit-pings",
            **overrides):
    """Monitoring's schema and stream, with a test consumer of case.opened."""
    spec = ServiceSpec(
        name="monitoring", title="kit", description="",
        subscriptions=lambda ctx: [Subscription(durable=durable, stream="FANGPIN_MONITORING",
                                                subjects=[PING], handler=handled.handle)],
        deadline_events=DEADLINE_EVENTS,
    )
    settings = settings_for(MonitoringSettings, database, nats_url, **overrides)
    return build_app(spec, settings, clock)


@pytest.fixture
def clock():
    c = SettableClock()
    c.set_today(date(2024, 4, 10))
    return c
