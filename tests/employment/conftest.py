"""Fixtures of the employment tests: the app on a settable clock, monitoring's events."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import nats
import pytest
from nats.js.errors import BadRequestError
from sqlalchemy import func, select

from fangpin_common.clock import SettableClock
from fangpin_common.events.monitoring import (
    CaseOpened,
    CaseOpenedData,
    HouseholdUpserted,
    HouseholdUpsertedData,
    MemberSnapshot,
)
from fangpin_common.testing import auth, running, settings_for, stream_messages, token_for
from fangpin_employment.main import create_app
from fangpin_employment.settings import EmploymentSettings

CHANGAN = "450224100"  # 长安镇
BANLAN = "450224103"  # 板榄镇
COUNTY = auth(token_for("county"))
CHANGAN_TOWNSHIP = auth(token_for("township", "长安镇"))
BANLAN_TOWNSHIP = auth(token_for("township", "板榄镇"))


def member(member_id: str, name: str, born: date, sex: str = "男", capacity: str = "普通劳动力",
           relation: str = "户主", **extra) -> MemberSnapshot:
    return MemberSnapshot(member_id=member_id, name=name, sex=sex, birth_date=born,
                          relation=relation, labour_capacity=capacity, **extra)


def household(household_id: str, members: list[MemberSnapshot], revision: int = 1,
              township: str = CHANGAN, village: str = "长安村", category: str = "脱贫户",
              subcategory: str | None = None, at: datetime | None = None) -> HouseholdUpserted:
    return HouseholdUpserted(
        subject=household_id, time=at or datetime(2024, 4, 1, 2, tzinfo=UTC),
        data=HouseholdUpsertedData(
            household_id=household_id, township=township, village=village, category=category,
            monitoring_subcategory=subcategory, head_name=members[0].name, members=members,
            revision=revision))


def case_opened(household_id: str, inclusion: date, township: str = CHANGAN,
                village: str = "长安村", category: str = "边缘易致贫户") -> CaseOpened:
    return CaseOpened(subject=household_id, time=datetime(2024, 4, 1, 1, tzinfo=UTC),
                      data=CaseOpenedData(case_id=str(uuid4()), household_id=household_id,
                                          township=township, village=village, category=category,
                                          risk_types=["因病"], inclusion_date=inclusion))


async def publish(nats_url: str, events) -> None:
    """Publish monitoring's events into FANGPIN_MONITORING, as monitoring's relay does."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        try:
            await js.add_stream(name="FANGPIN_MONITORING", subjects=["fangpin.monitoring.>"],
                                duplicate_window=600)
        except BadRequestError:
            pass  # already there
        for event in events:
            await js.publish(event.type, event.to_json(), headers={"Nats-Msg-Id": event.id})
    finally:
        await nc.close()


async def published(nats_url: str, event_type: str | None = None) -> list[dict]:
    """What employment has published (its stream), optionally of one type."""
    import json

    try:
        raw = await stream_messages(nats_url, "FANGPIN_EMPLOYMENT")
    except Exception:  # noqa: BLE001 (no stream yet)
        return []
    events = [json.loads(m) for m in raw]
    return [e for e in events if event_type is None or e["type"] == event_type]


async def count(app, model) -> int:
    table = getattr(model, "__table__", model)
    async with app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()


@pytest.fixture
def clock() -> SettableClock:
    c = SettableClock()
    c.set_today(date(2024, 4, 10))
    return c


def employment_app(database, nats_url, clock, **overrides):
    settings = settings_for(EmploymentSettings, database, nats_url, run_scanners=False,
                            **overrides)
    return create_app(settings, clock)


@pytest.fixture
async def employment(database, private_nats, clock):
    app = employment_app(database, private_nats.url, clock)
    async with running(app) as client:
        client.app = app
        client.nats_url = private_nats.url
        yield client


async def settled(client) -> None:
    """Wait until the relay has published everything queued so far."""
    from fangpin_common.tables import OUTBOX
    from fangpin_common.testing import eventually

    async def empty():
        return await count(client.app, OUTBOX) == 0

    await eventually(empty)


async def scan(client, clock, day: date) -> dict:
    clock.set_today(day)
    r = await client.post("/api/v1/admin/scan", headers=COUNTY)
    assert r.status_code == 200, r.text
    await settled(client)
    return r.json()
