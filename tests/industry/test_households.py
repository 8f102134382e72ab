"""Household industry assistance (I2): households arrive as monitoring's events on NATS."""

from datetime import date

import pytest
from sqlalchemy import select

from fangpin_common.events import parse_event
from fangpin_common.events.monitoring import HouseholdUpserted
from fangpin_common.tables import AUDIT_LOG, OUTBOX
from fangpin_common.testing import (
    auth,
    confirmed_case,
    eventually,
    running,
    settings_for,
    token_for,
)
from fangpin_industry.households import service
from fangpin_industry.households.models import HouseholdIndustry, HouseholdView, Measure
from fangpin_industry.main import create_app
from fangpin_monitoring.households.rules import check_digit
from fangpin_monitoring.main import create_app as create_monitoring
from fangpin_monitoring.settings import MonitoringSettings

from .conftest import (
    AGRICULTURE,
    BANLAN,
    BANLAN_TOWN,
    CHANGAN_TOWN,
    COUNTY,
    count,
    industry_settings,
)

MONITORING_TOWNSHIP = auth(token_for("township", "板榄镇"))


def resident_id(serial: int, born=date(1975, 3, 1)) -> str:
    first17 = f"450224{born:%Y%m%d}{serial:03d}"
    return first17 + check_digit(first17)


def household(serial: int, village: str, category="脱贫户", township="板榄镇") -> dict:
    number = resident_id(serial)
    return {"township": township, "village": village, "category": category,
            "members": [{"name": f"户主{serial}", "id_number": number,
                         "sex": "男" if int(number[16]) % 2 else "女", "birth_date": "1975-03-01",
                         "relation": "户主", "labour_capacity": "普通劳动力"}]}


@pytest.fixture
async def both(database, private_nats, clock):
    """Monitoring and industry, each with its own database, meeting only on a NATS server of
    this test (so that no other test's households arrive)."""
    monitoring = create_monitoring(settings_for(MonitoringSettings, database, private_nats.url),
                                   clock)
    # industry's relay stays off: its outbox shows whatever a request queued
    industry = create_app(industry_settings(database, private_nats, run_relay=False), clock)
    async with running(monitoring) as m, running(industry) as i:
        m.app, i.app = monitoring, industry
        yield m, i


async def test_coverage_from_households_arriving_as_events(both):
    monitoring, industry = both
    ids = {}
    for serial, village, category in [(101, "板榄村", "脱贫户"), (102, "板榄村", "脱贫户"),
                                      (103, "板榄村", "脱贫户"), (104, "山脚村", "脱贫户"),
                                      (105, "山脚村", "一般农户")]:
        r = await monitoring.post("/api/v1/households", headers=MONITORING_TOWNSHIP,
                                  json=household(serial, village, category))
        assert r.status_code == 201, r.text
        ids[serial] = r.json()["id"]

    async def arrived():
        return await count(industry, HouseholdView.__table__) == 5
    await eventually(arrived)

    # the village list makes 旱鸭 a specialty in 山脚村 only
    r = await industry.put("/api/v1/specialty-industries/villages/板榄镇/山脚村",
                           headers=BANLAN_TOWN, json={"industries": ["旱鸭", "沙糖桔"]})
    assert r.status_code == 200
    for serial, industries in [(101, ["金桔", "蔬菜"]), (102, ["旱鸭"]), (103, []),
                               (104, ["旱鸭"])]:
        r = await industry.put(f"/api/v1/households/{ids[serial]}/industry",
                               headers=BANLAN_TOWN, json={"industries": industries})
        assert r.status_code == 200, r.text
    for serial, kind, extra in [(101, "以奖代补", {"amount_fen": 200_000}),
                                (104, "小额信贷", {"amount_fen": 5_000_000,
                                                   "ends_on": "2026-04-01"}),
                                (103, "技术培训", {})]:
        r = await industry.post(f"/api/v1/households/{ids[serial]}/measures",
                                headers=BANLAN_TOWN,
                                json={"measure_type": kind, "granted_on": "2024-04-01", **extra})
        assert r.status_code == 201, r.text

    shown = (await industry.get(f"/api/v1/households/{ids[101]}/industry",
                                headers=BANLAN_TOWN)).json()
    assert shown["industries"] == [{"name": "金桔", "specialty_level": "county"},
                                   {"name": "蔬菜", "specialty_level": None}]
    assert shown["effective_measures"] == 1 and shown["poverty_alleviated"]

    report = (await industry.get("/api/v1/industry-coverage", headers=COUNTY)).json()
    assert report["specialty_industry_target_percent"] == "95"
    banlan = next(t for t in report["townships"] if t["township"] == BANLAN)
    # 4 脱贫户 (the 一般农户 does not count): 101 金桔 and 104 旱鸭 (山脚村) are specialties,
    # 102's 旱鸭 is not one in 板榄村; 101, 103, 104 have an effective measure
    assert banlan["households"] == 4
    assert banlan["with_specialty_industry"] == 2
    assert banlan["specialty_industry_percent"] == "50.00"
    assert banlan["with_assistance"] == 3 and banlan["assistance_percent"] == "75.00"
    assert not banlan["specialty_industry_met"] and not banlan["assistance_met"]
    assert banlan["developing_without_measure"] == 1
    assert report["total"]["households"] == 4 and len(report["townships"]) == 12

    gaps = (await industry.get("/api/v1/industry-coverage/gaps", headers=AGRICULTURE)).json()
    assert [(g["household_id"], g["industries"]) for g in gaps] == [(ids[102], ["旱鸭"])]
    assert gaps[0]["head_name"] == "户主102"
    # before the measures were delivered nobody was assisted
    early = (await industry.get("/api/v1/industry-coverage", params={"as_of": "2024-03-31"},
                                headers=COUNTY)).json()
    assert next(t for t in early["townships"] if t["township"] == BANLAN)["with_assistance"] == 0

    # scope: 长安镇 sees only its own (empty) township and none of 板榄镇's households
    own = (await industry.get("/api/v1/industry-coverage", headers=CHANGAN_TOWN)).json()
    assert [t["township"] for t in own["townships"]] == ["450224100"]
    assert (await industry.get(f"/api/v1/households/{ids[101]}/industry",
                               headers=CHANGAN_TOWN)).status_code == 403

    # the household becomes 脱贫不稳定户 under monitoring: still a 脱贫 household here
    await confirmed_case(monitoring, ids[101], "2024-04-10", "脱贫不稳定户")

    async def reclassified():
        async with industry.app.state.db.session() as session:
            row = await session.get(HouseholdView, ids[101])
            return row.category == "监测户" and row.revision == 2
    await eventually(reclassified)
    report = (await industry.get("/api/v1/industry-coverage", headers=COUNTY)).json()
    assert report["total"]["households"] == 4


async def test_bad_assistance_input_stores_nothing(both):
    monitoring, industry = both
    r = await monitoring.post("/api/v1/households", headers=MONITORING_TOWNSHIP,
                              json=household(201, "板榄村"))
    poor = r.json()["id"]
    r = await monitoring.post("/api/v1/households", headers=MONITORING_TOWNSHIP,
                              json=household(202, "板榄村", "一般农户"))
    ordinary = r.json()["id"]

    async def arrived():
        return await count(industry, HouseholdView.__table__) == 2
    await eventually(arrived)

    measure = {"measure_type": "小额信贷", "granted_on": "2024-04-01"}
    cases = [
        (f"/api/v1/households/{poor}/measures", measure | {"measure_type": "发钱"},
         ["body", "measure_type"], "未知帮扶措施"),
        (f"/api/v1/households/{poor}/measures", measure | {"granted_on": "2024-04-11"},
         ["body", "granted_on"], "晚于今天"),
        (f"/api/v1/households/{poor}/measures", measure | {"ends_on": "2024-03-01"},
         ["body", "ends_on"], "早于落实日期"),
        (f"/api/v1/households/{poor}/measures", measure | {"amount_fen": -100},
         ["body", "amount_fen"], None),
        (f"/api/v1/households/{poor}/measures", measure | {"project_id": "nope"},
         ["body", "project_id"], "没有项目"),
        (f"/api/v1/households/{ordinary}/measures", measure, ["path", "household_id"],
         "只登记脱贫户"),
    ]
    for url, body, loc, fragment in cases:
        r = await industry.post(url, json=body, headers=BANLAN_TOWN)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["loc"] == loc, detail
        if fragment:
            assert fragment in detail["msg"], detail
    r = await industry.put(f"/api/v1/households/{poor}/industry", headers=BANLAN_TOWN,
                           json={"industries": ["金桔", " 金桔 "]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "industries", 1]
    r = await industry.put("/api/v1/specialty-industries/villages/板榄镇/板榄村",
                           headers=BANLAN_TOWN, json={"industries": ["a", "b", "c", "d"]})
    assert r.status_code == 422 and "最多 3 个" in r.json()["detail"][0]["msg"]
    r = await industry.put("/api/v1/specialty-industries/villages/长安镇/某村",
                           headers=BANLAN_TOWN, json={"industries": ["a"]})
    assert r.status_code == 403
    assert (await industry.get("/api/v1/households/nobody/industry",
                               headers=COUNTY)).status_code == 404
    for table in (HouseholdIndustry.__table__, Measure.__table__, AUDIT_LOG, OUTBOX):
        assert await count(industry, table) == 0, table


async def test_an_older_revision_arriving_late_changes_nothing(industry):
    def upserted(revision: int, category: str) -> HouseholdUpserted:
        return parse_event(HouseholdUpserted(subject="h1", data={
            "household_id": "h1", "township": BANLAN, "village": "板榄村", "category": category,
            "head_name": "韦某", "members": [], "revision": revision}).to_json())

    async with industry.app.state.db.unit_of_work() as session:
        await service.apply_household_upserted(session, upserted(2, "监测户"))
        await service.apply_household_upserted(session, upserted(1, "脱贫户"))
    # h1's row only: the fixture's consumer also reads the session's shared stream, which holds
    # other tests' households when they ran first (random order).
    async with industry.app.state.db.session() as session:
        row = (await session.execute(select(HouseholdView).where(HouseholdView.id == "h1"))
               ).scalars().one()
    assert (row.revision, row.category) == (2, "监测户")
