from datetime import date

import pytest
from sqlalchemy import func, select

from fangpin_common.clock import SettableClock
from fangpin_common.testing import auth, running, settings_for, token_for
from fangpin_industry.main import create_app
from fangpin_industry.settings import IndustrySettings

TODAY = date(2024, 4, 10)
BANLAN = "450224103"  # 板榄镇
CHANGAN = "450224100"  # 长安镇

COUNTY = auth(token_for("county"))
AGRICULTURE = auth(token_for("department", unit="county.agriculture",
                             department="county.agriculture"))
FORESTRY = auth(token_for("department", unit="county.forestry", department="county.forestry"))
CIVIL_AFFAIRS = auth(token_for("department", unit="county.civil_affairs",
                               department="county.civil_affairs"))
BANLAN_TOWN = auth(token_for("township", "板榄镇"))
CHANGAN_TOWN = auth(token_for("township", "长安镇"))


@pytest.fixture
def clock() -> SettableClock:
    c = SettableClock()
    c.set_today(TODAY)
    return c


def industry_settings(database, nats_server, **overrides) -> IndustrySettings:
    # Scanners are driven by hand (with the settable clock) so that every step is deterministic.
    return settings_for(IndustrySettings, database, nats_server.url,
                        **({"run_scanners": False} | overrides))


@pytest.fixture
async def industry(database, nats_server, clock):
    # Without the relay the outbox shows every event a request queued (tests that follow
    # events through NATS start their own apps with the relay on).
    app = create_app(industry_settings(database, nats_server, run_relay=False), clock)
    async with running(app) as client:
        client.app = app
        yield client


async def count(client, table, *where) -> int:
    async with client.app.state.db.session() as session:
        query = select(func.count()).select_from(table)
        for condition in where:
            query = query.where(condition)
        return (await session.execute(query)).scalar_one()


def linkage(mode="入股分红", households=40, poverty=25, description="保底分红每户每年600元"):
    return {"mode": mode, "description": description, "households": households,
            "poverty_households": poverty}


def project(**extra) -> dict:
    return {
        "name": "板榄镇金桔标准化种植基地", "year": 2024, "township": "板榄镇", "village": "板榄村",
        "category": "升级", "industry": "金桔", "entity_name": "融安县金桔种植专业合作社",
        "entity_type": "农民合作社", "linkage_model": "龙头企业+合作社+基地+农户",
        "farmer_linkage": [linkage(), linkage("帮扶就业", 15, 10, "基地务工每人每月2000元")],
        "funds": [{"source": "中央衔接资金", "amount_fen": 150_000_000},
                  {"source": "县级衔接资金", "amount_fen": 30_000_000}],
        "planned_start": "2024-03-01", "planned_completion": "2024-06-30", **extra,
    }
