from datetime import date

import pytest

from fangpin_common.clock import SettableClock
from fangpin_common.testing import running, settings_for
from fangpin_monitoring.households import rules
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

TODAY = date(2024, 4, 10)


def resident_id(region: str, born: date, serial: int, male: bool) -> str:
    """A valid resident ID (check digit computed) for tests."""
    seq = f"{serial:02d}{(1 if male else 2) + 2 * (serial % 4)}"
    first17 = f"{region}{born:%Y%m%d}{seq}"
    return first17 + rules.check_digit(first17)


def member(name="韦明", born=date(1980, 1, 1), serial=1, male=True, relation="户主",
           labour="普通劳动力", **extra) -> dict:
    return {"name": name, "id_number": resident_id("450224", born, serial, male),
            "sex": "男" if male else "女", "birth_date": born.isoformat(), "relation": relation,
            "labour_capacity": labour, **extra}


def household(township="板榄镇", village="板榄村", members=None, **extra) -> dict:
    return {"township": township, "village": village, "category": "脱贫户",
            "members": members or [member()], **extra}


@pytest.fixture
def clock() -> SettableClock:
    c = SettableClock()
    c.set_today(TODAY)
    return c


@pytest.fixture
async def monitoring(database, nats_server, clock):
    settings = settings_for(MonitoringSettings, database, nats_server.url)
    app = create_app(settings, clock)
    async with running(app) as client:
        client.app = app
        yield client
