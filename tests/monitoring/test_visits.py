"""Grid areas, the visit ledger and its deadlines (M2, M3)."""

from datetime import date

import pytest
from sqlalchemy import select

from fangpin_common.tables import DEADLINES
from fangpin_common.testing import auth, eventually, settings_for, token_for
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

from .households_kit import (
    BANLAN,
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    VILLAGE,
    count,
    events,
    person,
    quiet_app,
    start,
    state,
)

OTHER_VILLAGE = auth(token_for("village", "板榄镇", village="另一村"))


@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock))
    yield client
    await context.__aexit__(None, None, None)


async def new_household(client, serial: int, village="板榄村", category="脱贫户", **extra) -> str:
    body = {"township": "板榄镇", "village": village, "category": category, "members": [
        {"name": f"户主{serial}", "relation": "户主", "labour_capacity": "普通劳动力",
         **person(serial)}]} | extra
    r = await client.post("/api/v1/households", headers=TOWNSHIP, json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def visit(client, household_id: str, on: date, headers=VILLAGE, **extra):
    body = {"household_id": household_id, "visited_on": on.isoformat(), "visitor_name": "网格员甲",
            "visitor_role": "网格员", "family_changes": "无变化", "living_conditions": "正常",
            "industry": "种植金桔", "employment": "一人外出务工", "leaflet_explained": True,
            "risk_found": False} | extra
    return await client.post("/api/v1/visits", headers=headers, json=body)


async def deadlines(client, kind: str) -> dict[str, tuple]:
    async with client.app.state.db.session() as session:
        rows = (await session.execute(select(DEADLINES).where(DEADLINES.c.kind == kind))).all()
    return {r.subject_id: (r.state, r.due_on, r.met_on) for r in rows}


async def test_monthly_visits_deadlines_and_coverage(app):
    clock = app.app.state.clock  # 2024-04-10
    a, b, c = [await new_household(app, i) for i in (1, 2, 3)]
    outside = await new_household(app, 4, village="另一村")
    r = await app.post("/api/v1/grid-areas", headers=VILLAGE, json={
        "township": "板榄镇", "village": "板榄村", "name": "第一网格", "worker_name": "网格员甲",
        "worker_phone": "13800001111", "household_ids": [a, b]})
    assert r.status_code == 201, r.text
    area = r.json()
    assert area["township"] == BANLAN and area["worker_phone"] == "138****1111"
    # Joining opens this month's deadline at once, due at the month's end.
    assert await deadlines(app, "visit.monthly") == {
        f"{a}:2024-04": ("open", date(2024, 4, 30), None),
        f"{b}:2024-04": ("open", date(2024, 4, 30), None)}
    # The job opens next month's; running it twice opens nothing twice.
    r = await app.post("/admin/visits/open-deadlines", headers=COUNTY)
    assert r.status_code == 200 and (r.json()["monthly_opened"], r.json()["months"]) == (
        2, ["2024-04", "2024-05"])
    r = await app.post("/admin/visits/open-deadlines", headers=COUNTY)
    assert r.json()["monthly_opened"] == 0 and len(await deadlines(app, "visit.monthly")) == 4

    r = await visit(app, a, date(2024, 4, 8))
    assert r.status_code == 201 and r.json()["deadlines_met"] == ["visit.monthly"], r.text
    assert r.json()["grid_area_id"] == area["id"]
    r = await visit(app, c, date(2024, 4, 9), leaflet_explained=False)  # no grid: meets nothing
    assert r.status_code == 201 and r.json()["deadlines_met"] == []
    assert (await deadlines(app, "visit.monthly"))[f"{a}:2024-04"] == (
        "met", date(2024, 4, 30), date(2024, 4, 8))

    r = await app.get("/api/v1/visits/coverage", headers=TOWNSHIP, params={"period": "2024-04"})
    assert r.status_code == 200, r.text
    assert r.json()["rows"] == [{"township": BANLAN, "village": "板榄村", "due": 2, "visited": 1,
                                 "visited_on_time": 1, "overdue": 0, "rate": 0.5}]
    r = await app.get("/api/v1/visits/coverage", headers=COUNTY,
                      params={"period": "2024-04", "level": "township"})
    assert r.json()["rows"][0] | {} == {"township": BANLAN, "village": None, "due": 2,
                                        "visited": 1, "visited_on_time": 1, "overdue": 0,
                                        "rate": 0.5}
    assert r.json()["total"]["rate"] == 0.5

    # Month end passes: b's April visit is overdue, announced once; a late visit still counts.
    clock.set_today(date(2024, 5, 1))
    scanner = app.app.state.scanner
    await scanner.scan()
    await scanner.scan()
    overdue = await events(app, "fangpin.monitoring.visit.overdue")
    assert [(e["data"]["subject_id"], e["data"]["kind"], e["data"]["context"]["grid_worker"])
            for e in overdue] == [(f"{b}:2024-04", "visit.monthly", "网格员甲")]
    assert overdue[0]["data"]["township"] == BANLAN and "id_number" not in str(overdue[0])
    r = await visit(app, b, date(2024, 4, 30))  # entered late, visited on time
    assert r.json()["deadlines_met"] == ["visit.monthly"]
    r = await app.get("/api/v1/visits/coverage", headers=VILLAGE, params={"period": "2024-04"})
    assert r.json()["rows"][0]["visited"] == 2 and r.json()["rows"][0]["overdue"] == 0
    recorded = await events(app, "fangpin.monitoring.visit.recorded")
    assert sorted(e["data"]["leaflet_explained"] for e in recorded) == [False, True, True]
    # Leaflet coverage per village (M2): a and b were told, c was not; 另一村 has nobody told.
    r = await app.get("/api/v1/visits/leaflet-coverage", headers=TOWNSHIP, params={"year": 2024})
    assert [(x["village"], x["households"], x["explained"], x["rate"]) for x in r.json()["rows"]
            ] == [("另一村", 1, 0, 0.0), ("板榄村", 3, 2, 0.6667)]
    r = await app.get("/api/v1/visits/leaflet-coverage", headers=VILLAGE)
    assert [x["village"] for x in r.json()["rows"]] == ["板榄村"]
    assert outside


async def test_risk_found_is_announced(app):
    a = await new_household(app, 1)
    r = await visit(app, a, date(2024, 4, 9), risk_found=True, risk_types=["因病", "住房安全"])
    assert r.status_code == 201, r.text
    found = await events(app, "fangpin.monitoring.visit.risk_found")
    assert [(e["data"]["household_id"], e["data"]["risk_types"]) for e in found] == [
        (a, ["因病", "住房安全"])]
    r = await visit(app, a, date(2024, 4, 10))
    assert len(await events(app, "fangpin.monitoring.visit.risk_found")) == 1


async def test_q1_full_visit(app):
    clock = app.app.state.clock
    clock.set_today(date(2024, 2, 10))
    poor, monitored = await new_household(app, 1), await new_household(app, 2)
    general = await new_household(app, 3, category="一般农户")
    await visit(app, poor, date(2024, 1, 20))  # before the deadline exists
    r = await app.post("/admin/visits/open-deadlines", headers=COUNTY)
    assert (r.json()["q1_opened"], r.json()["met_on_opening"]) == (2, 1)
    q1 = await deadlines(app, "visit.q1")
    assert q1 == {f"{poor}:2024Q1": ("met", date(2024, 3, 31), date(2024, 1, 20)),
                  f"{monitored}:2024Q1": ("open", date(2024, 3, 31), None)}
    assert (await app.post("/admin/visits/open-deadlines", headers=COUNTY)).json()["q1_opened"] == 0
    r = await app.get("/api/v1/visits/coverage", headers=TOWNSHIP, params={"period": "2024Q1"})
    assert [(x["due"], x["visited"], x["rate"]) for x in r.json()["rows"]] == [(2, 1, 0.5)]
    # Due soon (10 days before 31 March by default), then a visit meets it.
    clock.set_today(date(2024, 3, 25))
    await app.app.state.scanner.scan()
    soon = await events(app, "fangpin.monitoring.visit.due_soon")
    assert [e["data"]["subject_id"] for e in soon] == [f"{monitored}:2024Q1"]
    r = await visit(app, monitored, date(2024, 3, 25))
    assert r.json()["deadlines_met"] == ["visit.q1"]
    r = await app.get("/api/v1/visits/coverage", headers=TOWNSHIP, params={"period": "2024Q1"})
    assert r.json()["total"]["rate"] == 1.0
    assert general


async def test_grid_area_crud_and_scope(app):
    a, b = await new_household(app, 1), await new_household(app, 2)
    elsewhere = await new_household(app, 3, village="另一村")
    r = await app.post("/api/v1/grid-areas", headers=TOWNSHIP, json={
        "township": "板榄镇", "village": "板榄村", "name": "一组", "worker_name": "甲",
        "household_ids": [a]})
    area = r.json()["id"]
    stale = {"name": "一组", "worker_name": "丙", "household_ids": [a, b], "revision": 1}
    r = await app.put(f"/api/v1/grid-areas/{area}", headers=VILLAGE | {"If-Match": '"1"'},
                      json={"name": "一组", "worker_name": "乙", "worker_phone": "13800002222",
                            "household_ids": [b]})
    assert r.status_code == 200 and r.json()["household_ids"] == [b], r.text
    assert r.headers["etag"] == '"2"' and r.json()["worker_phone"] == "138****2222"
    # A second editor from the copy at revision 1: refused, nothing of the first undone.
    r = await app.put(f"/api/v1/grid-areas/{area}", headers=TOWNSHIP, json=stale)
    assert r.status_code == 412 and "负责的农户" in r.json()["detail"]["msg"]
    shown = (await app.get(f"/api/v1/grid-areas/{area}", headers=TOWNSHIP)).json()
    assert shown["worker_phone"] == "13800002222" and shown["worker_name"] == "乙"
    await app.post("/admin/visits/open-deadlines", headers=COUNTY)
    monthly = await deadlines(app, "visit.monthly")
    # a left in April: its April deadline stays, it gets no May one; b has both.
    assert sorted(monthly) == sorted([f"{a}:2024-04", f"{b}:2024-04", f"{b}:2024-05"])
    assert (await app.get(f"/api/v1/grid-areas/{area}", headers=OTHER_TOWNSHIP)
            ).status_code == 403
    assert (await app.get(f"/api/v1/grid-areas/{area}", headers=OTHER_VILLAGE)).status_code == 403
    assert (await app.get("/api/v1/grid-areas", headers=OTHER_VILLAGE)).json() == []
    assert len((await app.get("/api/v1/grid-areas", headers=COUNTY)).json()) == 1
    r = await visit(app, elsewhere, date(2024, 4, 9), headers=VILLAGE)
    assert r.status_code == 403
    seen = (await visit(app, b, date(2024, 4, 9), headers=TOWNSHIP)).json()
    assert [v["id"] for v in (await app.get("/api/v1/visits", headers=VILLAGE,
                                            params={"household_id": b})).json()] == [seen["id"]]
    assert (await app.get("/api/v1/visits", headers=OTHER_TOWNSHIP)).json() == []
    assert (await app.get("/api/v1/visits", headers=OTHER_VILLAGE)).json() == []
    assert (await app.get(f"/api/v1/visits/{seen['id']}", headers=OTHER_VILLAGE)
            ).status_code == 403
    assert (await app.get(f"/api/v1/visits/{seen['id']}", headers=VILLAGE)).status_code == 200
    r = await app.get("/api/v1/visits/coverage", headers=OTHER_TOWNSHIP,
                      params={"period": "2024-04"})
    assert r.json()["rows"] == [] and r.json()["total"]["due"] == 0
    r = await app.delete(f"/api/v1/grid-areas/{area}", headers=VILLAGE)
    assert r.status_code == 428
    r = await app.delete(f"/api/v1/grid-areas/{area}", headers=VILLAGE | {"If-Match": '"2"'})
    assert r.status_code == 204
    assert sorted(await deadlines(app, "visit.monthly")) == sorted(
        [f"{a}:2024-04", f"{b}:2024-04"])
    assert (await app.get(f"/api/v1/grid-areas/{area}", headers=VILLAGE)).status_code == 404
    r = await app.get("/api/v1/visits/coverage", headers=auth(token_for("platform")),
                      params={"period": "2024-04"})
    assert r.status_code == 403


async def test_bad_visit_and_area_input_changes_nothing(app):
    a = await new_household(app, 1)
    b = await new_household(app, 2)
    elsewhere = await new_household(app, 3, village="另一村")
    r = await app.post("/api/v1/grid-areas", headers=TOWNSHIP, json={
        "township": "板榄镇", "village": "板榄村", "name": "一组", "worker_name": "甲",
        "household_ids": [b]})
    assert r.status_code == 201
    before = await state(app)
    good = {"household_id": a, "visited_on": "2024-04-09", "visitor_name": "甲",
            "leaflet_explained": True, "risk_found": False}
    visits = [
        (good | {"visited_on": "2024-04-11"}, ["body", "visited_on"], "晚于今天"),
        (good | {"visited_on": "2020-01-01"}, ["body", "visited_on"], "过早"),
        (good | {"risk_found": True}, ["body", "risk_types"], "至少一种"),
        (good | {"risk_types": ["因病"]}, ["body", "risk_found"], "为否"),
        (good | {"risk_found": True, "risk_types": ["因懒"]}, ["body", "risk_types", 0], None),
        (good | {"household_id": "nope"}, ["body", "household_id"], "不存在"),
        ({k: v for k, v in good.items() if k != "leaflet_explained"},
         ["body", "leaflet_explained"], None),
        (good | {"visitor_role": "路人"}, ["body", "visitor_role"], None),
    ]
    for body, loc, fragment in visits:
        r = await app.post("/api/v1/visits", headers=TOWNSHIP, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"] == loc, r.json()
        if fragment:
            assert fragment in r.json()["detail"][0]["msg"]
    area = {"township": "板榄镇", "village": "板榄村", "name": "二组", "worker_name": "乙"}
    areas = [
        (area | {"household_ids": [a, elsewhere]}, ["body", "household_ids", 1], "另一村"),
        (area | {"household_ids": [a, a]}, ["body", "household_ids", 1], "重复"),
        (area | {"household_ids": [b]}, ["body", "household_ids", 0], "已属于网格"),
        (area | {"household_ids": ["nope"]}, ["body", "household_ids", 0], "不存在"),
        (area | {"name": "一组"}, ["body", "name"], "已有"),
        (area | {"township": "火星乡"}, ["body", "township"], "未知乡镇"),
        (area | {"worker_name": ""}, ["body", "worker_name"], None),
    ]
    for body, loc, fragment in areas:
        r = await app.post("/api/v1/grid-areas", headers=TOWNSHIP, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"] == loc, r.json()
        if fragment:
            assert fragment in r.json()["detail"][0]["msg"]
    existing = (await app.get("/api/v1/grid-areas", headers=TOWNSHIP)).json()[0]["id"]
    update = {"name": "一组", "worker_name": "甲", "revision": 1}
    for body, loc in [(update | {"household_ids": [b, elsewhere]}, ["body", "household_ids", 1]),
                      (update | {"household_ids": ["nope"]}, ["body", "household_ids", 0]),
                      ({"name": "一组"}, ["body", "worker_name"])]:
        r = await app.put(f"/api/v1/grid-areas/{existing}", headers=TOWNSHIP, json=body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert (await app.put("/api/v1/grid-areas/nope", headers=TOWNSHIP, json=update)
            ).status_code == 404
    for params, loc in [({"year": 1800}, ["query", "year"]),
                        ({"township": "火星乡"}, ["query", "township"])]:
        r = await app.get("/api/v1/visits/leaflet-coverage", headers=COUNTY, params=params)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    for params, loc in [({"period": "2024-13"}, ["query", "period"]),
                        ({"period": "2024Q2"}, ["query", "period"]),
                        ({}, ["query", "period"]),
                        ({"period": "2024-04", "level": "county"}, ["query", "level"]),
                        ({"period": "2024-04", "township": "火星乡"}, ["query", "township"])]:
        r = await app.get("/api/v1/visits/coverage", headers=COUNTY, params=params)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    for month in ["2024Q1", "May"]:
        r = await app.post("/admin/visits/open-deadlines", headers=COUNTY, params={"month": month})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "month"]
    assert (await app.post("/admin/visits/open-deadlines", headers=TOWNSHIP)).status_code == 403
    assert await state(app) == before


async def test_the_daily_job_runs_in_the_background(database, nats_server, clock):
    settings = settings_for(MonitoringSettings, database, nats_server.url,
                            visit_deadlines_interval_seconds=0.2)
    context, client = await start(create_app(settings, clock))
    try:
        a = await new_household(client, 1)
        r = await client.post("/api/v1/grid-areas", headers=TOWNSHIP, json={
            "township": "板榄镇", "village": "板榄村", "name": "一组", "worker_name": "甲",
            "household_ids": [a]})
        assert r.status_code == 201

        async def next_month_open() -> bool:
            return f"{a}:2024-05" in await deadlines(client, "visit.monthly")

        await eventually(next_month_open, timeout=10)
        assert await count(client, DEADLINES) == 2
    finally:
        await context.__aexit__(None, None, None)
