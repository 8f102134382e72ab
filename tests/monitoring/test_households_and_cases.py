"""Monitoring's walking skeleton over HTTP, on SQLite and PostgreSQL."""

from datetime import date, timedelta

from sqlalchemy import func, select

from fangpin_common.tables import AUDIT_LOG, DEADLINES, OUTBOX
from fangpin_common.testing import auth, confirmed_case, eventually, token_for

from .conftest import TODAY, household, member

TOWNSHIP = auth(token_for("township", "板榄镇"))
COUNTY = auth(token_for("county"))
PLATFORM = auth(token_for("platform"))


async def count(client, table) -> int:
    async with client.app.state.db.session() as session:
        return (await session.execute(select(func.count()).select_from(table))).scalar_one()



async def _published_all(client) -> bool:
    return await count(client, OUTBOX) == 0 and await events_out(client) == 1


async def settled_events_out(client) -> int:
    """events_out once the relay has drained the outbox (so the two reads cannot race it)."""
    await eventually(lambda: _outbox_empty(client))
    return await events_out(client)


async def _outbox_empty(client) -> bool:
    return await count(client, OUTBOX) == 0


async def events_out(client) -> int:
    """Events queued or already published: constant when a request changes nothing."""
    registry = client.app.state.metrics.registry
    published = sum(sample.value for metric in registry.collect()
                    if metric.name == "fangpin_events_published"
                    for sample in metric.samples if sample.name.endswith("_total"))
    return await count(client, OUTBOX) + int(published)


async def test_household_created_audited_and_announced(monitoring):
    r = await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["township"] == "450224103" and body["members"][0]["name"] == "韦明"
    assert await count(monitoring, AUDIT_LOG) == 1
    await eventually(lambda: events_out(monitoring))  # queued with the change…
    await eventually(lambda: _published_all(monitoring))  # …and relayed to JetStream


async def test_identity_numbers_masked_for_villages(monitoring):
    r = await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)
    village = auth(token_for("village", "板榄镇", village="板榄村"))
    shown = (await monitoring.get(f"/api/v1/households/{r.json()['id']}", headers=village)).json()
    assert "*" in shown["members"][0]["id_number"]
    shown = (await monitoring.get(f"/api/v1/households/{r.json()['id']}", headers=TOWNSHIP)).json()
    assert "*" not in shown["members"][0]["id_number"]


async def test_tokens_and_scope(monitoring):
    assert (await monitoring.post("/api/v1/households", json=household())).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await monitoring.get("/api/v1/households", headers=bad)).status_code == 401
    other = auth(token_for("township", "长安镇"))
    r = await monitoring.post("/api/v1/households", json=household(), headers=other)
    assert r.status_code == 403
    r = await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)
    assert (await monitoring.get(f"/api/v1/households/{r.json()['id']}",
                                 headers=other)).status_code == 403


async def test_bad_input_is_refused_precisely_and_changes_nothing(monitoring):
    bad_check = member()
    bad_check["id_number"] = bad_check["id_number"][:17] + (
        "0" if bad_check["id_number"][17] != "0" else "1")
    cases = [
        (household(members=[bad_check]), ["body", "members", 0, "id_number"], "校验位"),
        (household(township="不存在乡"), ["body", "township"], "未知乡镇"),
        (household(members=[member(born=date(1980, 1, 1)) | {"birth_date": "1981-01-01"}]),
         ["body", "members", 0, "birth_date"], "不一致"),
        (household(members=[member(labour="超人")]),
         ["body", "members", 0, "labour_capacity"], None),
    ]
    for body, loc, fragment in cases:
        r = await monitoring.post("/api/v1/households", json=body, headers=TOWNSHIP)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["loc"] == loc, detail
        if fragment:
            assert fragment in detail["msg"]
    r = await monitoring.post("/api/v1/households", content=b'{"township": ',
                              headers=TOWNSHIP | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid"
    assert await settled_events_out(monitoring) == 0
    assert await count(monitoring, AUDIT_LOG) == 0


async def test_one_person_one_household(monitoring):
    first = await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)
    r = await monitoring.post("/api/v1/households", json=household(village="另一村"),
                              headers=TOWNSHIP)
    assert r.status_code == 422
    assert first.json()["id"] in r.json()["detail"][0]["msg"]


async def test_case_opens_deadlines_and_helper_meets_one(monitoring):
    h = (await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)).json()
    case = await confirmed_case(monitoring, h["id"], TODAY, "边缘易致贫户", ["因病", "因学"])
    assert {d["kind"]: d["due_on"] for d in case["deadlines"]} == {
        "case.helper": (TODAY + timedelta(days=5)).isoformat(),
        "case.plan": (TODAY + timedelta(days=10)).isoformat(),
        "case.assessment": "2024-10-10"}  # six calendar months (M9)
    r = await monitoring.post(f"/api/v1/cases/{case['id']}/helpers", headers=TOWNSHIP,
                              json={"name": "黄帮扶", "unit": "county.agriculture"})
    assert r.status_code == 201, r.text
    case = (await monitoring.get(f"/api/v1/cases/{case['id']}", headers=TOWNSHIP)).json()
    states = {d["kind"]: d["state"] for d in case["deadlines"]}
    assert states == {"case.helper": "met", "case.plan": "open", "case.assessment": "open"}
    household_now = (await monitoring.get(f"/api/v1/households/{h['id']}",
                                          headers=TOWNSHIP)).json()
    assert household_now["category"] == "监测户"


async def test_bad_case_input_changes_nothing(monitoring):
    h = (await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)).json()
    before = await settled_events_out(monitoring)
    good = {"household_id": h["id"], "inclusion_date": TODAY.isoformat(),
            "category": "边缘易致贫户", "risk_types": ["因病"]}
    at = ["body", "inclusions", 0]
    cases = [
        (good | {"household_id": "nope"}, [*at, "household_id"]),
        (good | {"inclusion_date": (TODAY + timedelta(days=1)).isoformat()},
         [*at, "inclusion_date"]),
        (good | {"risk_types": ["因懒"]}, [*at, "risk_types", 0]),
        (good | {"category": "一般农户"}, [*at, "category"]),
    ]
    for body, loc in cases:
        r = await monitoring.post("/api/v1/identifications/platform-inclusions",
                                  json={"inclusions": [body]}, headers=PLATFORM)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc
    assert await settled_events_out(monitoring) == before
    assert await count(monitoring, DEADLINES) == 0


async def test_no_route_opens_a_case_directly(monitoring):
    """A case opens through the county's confirmation of an identification or a platform
    inclusion only: a direct opening would orphan a running identification (M1)."""
    h = (await monitoring.post("/api/v1/households", json=household(), headers=TOWNSHIP)).json()
    for headers in (TOWNSHIP, COUNTY, PLATFORM):
        r = await monitoring.post("/api/v1/cases", headers=headers, json={
            "household_id": h["id"], "inclusion_date": TODAY.isoformat(),
            "category": "边缘易致贫户", "risk_types": ["因病"]})
        assert r.status_code == 405, r.text
    assert await count(monitoring, DEADLINES) == 0
    read = (await monitoring.get(f"/api/v1/households/{h['id']}", headers=TOWNSHIP)).json()
    assert read["category"] == household()["category"]
