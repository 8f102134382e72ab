"""Bad input is refused with a precise 422 (the field, the reason in Chinese) and changes
nothing: no row, no audit entry, no event."""

from datetime import date

from sqlalchemy import func, select

from fangpin_common.tables import AUDIT_LOG, OUTBOX
from fangpin_common.testing import eventually
from fangpin_employment.labourers.models import Labourer
from fangpin_employment.returnees.models import Return
from fangpin_employment.workinfo.models import WorkRecord

from .conftest import CHANGAN_TOWNSHIP, COUNTY, count, household, member, publish


def record(**overrides) -> dict:
    return {"labourer_id": "a", "year": 2024, "quarter": 2, "months_worked": 3,
            "wage_fen": 900_000, "location_type": "县内", "place": "融安县城",
            "employer": "某公司", "verified_on": "2024-05-10"} | overrides


async def nothing_stored(app) -> None:
    assert await count(app, WorkRecord) == 0
    assert await count(app, Return) == 0
    assert await count(app, AUDIT_LOG) == 0
    assert await count(app, OUTBOX) == 0
    async with app.state.db.session() as session:
        assert (await session.execute(select(func.count()).select_from(Labourer).where(
            Labourer.source == "county"))).scalar_one() == 0


async def test_bad_input_is_refused_precisely(employment, clock):
    client = employment
    clock.set_today(date(2024, 5, 10))
    await publish(client.nats_url, [household("h1", [member("a", "甲", date(1980, 1, 1))])])
    await eventually(lambda: _listed(client))

    cases = [
        ("/api/v1/work-info", record(quarter=3), ["body", "quarter"], "尚未开始"),
        ("/api/v1/work-info", record(year=2025, quarter=1), ["body", "quarter"], "尚未开始"),
        ("/api/v1/work-info", record(months_worked=4), ["body", "months_worked"],
         "一个季度最多3个月，填报为4个月"),
        ("/api/v1/work-info", record(months_worked=-1), ["body", "months_worked"], "负数"),
        ("/api/v1/work-info", record(wage_fen=-100), ["body", "wage_fen"],
         "工资收入不能为负数"),
        ("/api/v1/work-info", record(verified_on="2024-05-11"), ["body", "verified_on"],
         "晚于今天"),
        ("/api/v1/work-info", record(labourer_id="nobody"), ["body", "labourer_id"],
         "不存在"),
        ("/api/v1/work-info", record(location_type="外星"), ["body", "location_type"], None),
        ("/api/v1/work-info/batch", {"records": [record(), record(quarter=1, wage_fen=-1)]},
         ["body", "records", 1, "wage_fen"], "负数"),
        ("/api/v1/work-info/batch", {"records": [record(), record()]},
         ["body", "records", 1, "labourer_id"], "重复"),
        ("/api/v1/labourers", {"township": "不存在镇", "village": "某村", "name": "某人",
                               "sex": "男", "birth_date": "1990-01-01"},
         ["body", "township"], "未知乡镇：不存在镇"),
        ("/api/v1/returns", {"labourer_id": "a", "back_since": "2024-05-11",
                             "previous_location_type": "区外"}, ["body", "back_since"],
         "晚于今天"),
        ("/api/v1/returns", {"labourer_id": "a", "back_since": "2024-05-01",
                             "previous_location_type": "县内"},
         ["body", "previous_location_type"], None),
    ]
    for path, body, loc, fragment in cases:
        r = await client.post(path, json=body, headers=COUNTY)
        assert r.status_code == 422, (path, body, r.text)
        detail = r.json()["detail"][0]
        assert detail["loc"] == loc, (body, detail)
        if fragment:
            assert fragment in detail["msg"], detail
    for path, params, loc in [
        ("/api/v1/forms/2024-06/townships/长安镇", {}, ["path", "period"]),
        ("/api/v1/forms/2024-13/townships/长安镇", {}, ["path", "period"]),
        ("/api/v1/forms/2024-05/townships/不存在镇", {}, ["path", "township"]),
        ("/api/v1/work-info/anomalies", {"year": 2024, "quarter": 2, "township": "不存在镇"},
         ["query", "township"]),
    ]:
        r = await client.get(path, params=params, headers=COUNTY)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"][0]["loc"] == loc
    r = await client.post("/api/v1/work-info", json=record(), headers=CHANGAN_TOWNSHIP)
    assert r.status_code == 201  # the same record, corrected, is accepted
    assert await count(client.app, WorkRecord) == 1


async def test_nothing_is_stored_by_refused_requests(employment, clock):
    client = employment
    clock.set_today(date(2024, 5, 10))
    await publish(client.nats_url, [household("h1", [member("a", "甲", date(1980, 1, 1))])])
    await eventually(lambda: _listed(client))
    for body in (record(quarter=3), record(months_worked=5), record(wage_fen=-1)):
        r = await client.post("/api/v1/work-info", json=body, headers=COUNTY)
        assert r.status_code == 422
    r = await client.post("/api/v1/work-info/batch", headers=COUNTY,
                          json={"records": [record(), record(quarter=1, months_worked=9)]})
    assert r.status_code == 422
    r = await client.post("/api/v1/labourers", headers=COUNTY, json={
        "township": "不存在镇", "village": "某村", "name": "某人", "sex": "男",
        "birth_date": "1990-01-01"})
    assert r.status_code == 422
    await nothing_stored(client.app)


async def _listed(client) -> bool:
    r = await client.get("/api/v1/labourers", headers=COUNTY)
    return len(r.json()) == 1
