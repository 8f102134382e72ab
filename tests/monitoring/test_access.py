"""Access through the API: department grants, masking with audited full reads, who may do
which act, and the audit trail the county reads (W2, M1, M8, M9)."""

import io
from datetime import date

import openpyxl
from sqlalchemy import func, select

from fangpin_common.tables import AUDIT_LOG, DEADLINES
from fangpin_common.testing import confirmed_case

from .conftest import TODAY, household, member
from .support import COUNTY, TOWNSHIP, VILLAGE, department, state

HEALTH = department("county.health")
CIVIL = department("county.civil_affairs")
UNKNOWN = department("county.nonexistent")


async def _households(client) -> tuple[dict, dict]:
    """A monitored household and a 低保 household of the village, with phones."""
    r = await client.post("/api/v1/households", headers=COUNTY, json=household(
        phone="13900000001", members=[member(serial=1, phone="13800000001",
                                             health="患有大病")]))
    assert r.status_code == 201, r.text
    monitored = r.json()
    dibao = (await client.post("/api/v1/households", headers=COUNTY, json=household(
        whole_household_dibao=True, members=[member(serial=2)]))).json()
    await confirmed_case(client, monitored["id"], TODAY)
    return monitored, dibao


async def _audit(client, **where) -> list:
    async with client.app.state.db.session() as session:
        query = select(AUDIT_LOG).where(*(getattr(AUDIT_LOG.c, k) == v
                                          for k, v in where.items()))
        return (await session.execute(query)).all()


async def test_departments_read_what_their_grant_names(monitoring):
    monitored, dibao = await _households(monitoring)
    listed = (await monitoring.get("/api/v1/households", headers=CIVIL)).json()
    assert [h["id"] for h in listed] == [dibao["id"]]
    assert (await monitoring.get(f"/api/v1/households/{monitored['id']}",
                                 headers=CIVIL)).status_code == 403
    # Health: the members' health status of monitored households, nothing else.
    listed = (await monitoring.get("/api/v1/households", headers=HEALTH)).json()
    assert [h["id"] for h in listed] == [monitored["id"]]
    assert listed[0]["members"][0]["health"] == "患有大病"
    assert "id_number" not in listed[0]["members"][0] and "phone" not in listed[0]
    one = (await monitoring.get(f"/api/v1/households/{monitored['id']}", headers=HEALTH)).json()
    assert one == listed[0]
    for headers in (CIVIL, HEALTH):
        assert (await monitoring.get("/api/v1/cases", headers=headers)).json() == []
        assert (await monitoring.get("/api/v1/identifications", headers=headers)
                ).status_code == 403


async def test_an_unknown_department_is_refused_everywhere(monitoring):
    monitored, _ = await _households(monitoring)
    for url in ("/api/v1/households", f"/api/v1/households/{monitored['id']}", "/api/v1/cases",
                "/api/v1/warnings", "/api/v1/warnings/kinds", "/api/v1/income/ledger"):
        r = await monitoring.get(url, headers=UNKNOWN)
        assert r.status_code == 403 and "没有数据共享授权" in r.json()["detail"], url


async def test_masked_for_the_village_full_reads_audited_for_the_township(monitoring):
    monitored, _ = await _households(monitoring)
    [case] = (await monitoring.get("/api/v1/cases", headers=COUNTY)).json()
    r = await monitoring.post(f"/api/v1/cases/{case['id']}/helpers", headers=TOWNSHIP,
                              json={"name": "黄帮扶", "phone": "13712345678"})
    assert r.status_code == 201
    before = len(await _audit(monitoring, action="read_full"))
    seen = (await monitoring.get("/api/v1/cases", headers=VILLAGE)).json()
    assert seen[0]["helpers"][0]["phone"] == "137****5678"
    village_view = (await monitoring.get(f"/api/v1/households/{monitored['id']}",
                                         headers=VILLAGE)).json()
    assert village_view["members"][0]["id_number"].count("*") == 8
    assert village_view["phone"] == "139****0001"
    assert len(await _audit(monitoring, action="read_full")) == before  # nothing shown in full

    full = (await monitoring.get(f"/api/v1/households/{monitored['id']}",
                                 headers=TOWNSHIP)).json()
    assert full["members"][0]["id_number"] == member(serial=1)["id_number"]
    assert (await monitoring.get("/api/v1/cases", headers=TOWNSHIP)
            ).json()[0]["helpers"][0]["phone"] == "13712345678"
    entries = await _audit(monitoring, action="read_full")
    assert {(e.entity_type, e.entity_id, e.role) for e in entries[before:]} == {
        ("household", monitored["id"], "township"), ("case", case["id"], "township")}


async def test_a_village_may_not_plan_or_assess_and_no_case_opens_directly(monitoring):
    monitored, dibao = await _households(monitoring)
    [case] = (await monitoring.get("/api/v1/cases", headers=COUNTY)).json()
    before = await state(monitoring)
    plan = {"summary": "发展养殖", "measures": [
        {"measure_type": "产业帮扶", "responsible_unit": "county.agriculture"}]}
    assessment = {"conclusion": "continue", "rigid_expenses_resolved": True,
                  "food_clothing_secure": True, "compulsory_education_secure": True,
                  "basic_medical_secure": True, "housing_secure": True,
                  "drinking_water_secure": True}
    for url, body in ((f"/api/v1/cases/{case['id']}/plan", plan),
                      (f"/api/v1/cases/{case['id']}/assessments", assessment),
                      (f"/api/v1/cases/{case['id']}/measures", plan["measures"][0])):
        r = await monitoring.post(url, headers=VILLAGE, json=body)
        assert r.status_code == 403 and "村级不能办理" in r.json()["detail"], url
    r = await monitoring.post("/api/v1/cases", headers=VILLAGE, json={
        "household_id": dibao["id"], "inclusion_date": "2024-01-01",
        "category": "边缘易致贫户", "risk_types": ["因病"]})
    assert r.status_code == 405
    assert await state(monitoring) == before
    # The identification a village starts stays the only way in: it ends at the county.
    r = await monitoring.post("/api/v1/identifications", headers=VILLAGE, json={
        "household_id": dibao["id"], "source": "自主申报", "category": "突发严重困难户",
        "risk_types": ["因灾"]})
    assert r.status_code == 201
    async with monitoring.app.state.db.session() as session:
        open_for = (await session.execute(select(func.count()).select_from(DEADLINES).where(
            DEADLINES.c.subject_id == r.json()["id"], DEADLINES.c.state == "open"))).scalar()
    assert open_for == 1
    r = await monitoring.post(f"/api/v1/identifications/{r.json()['id']}/steps",
                              headers=VILLAGE, json={"step": "county_confirmation"})
    assert r.status_code == 422  # out of order, and not the village's step either


async def test_the_county_reads_the_audit_trail_filtered_and_as_a_workbook(monitoring):
    monitored, dibao = await _households(monitoring)
    await monitoring.get(f"/api/v1/households/{monitored['id']}", headers=TOWNSHIP)
    for headers in (TOWNSHIP, VILLAGE, CIVIL):
        assert (await monitoring.get("/api/v1/audit", headers=headers)).status_code == 403
    everything = (await monitoring.get("/api/v1/audit", headers=COUNTY)).json()
    assert {"create", "read_full", "open"} <= {e["action"] for e in everything}
    reads = (await monitoring.get("/api/v1/audit", headers=COUNTY, params={
        "action": "read_full", "entity_id": monitored["id"], "role": "township"})).json()
    assert len(reads) == 1 and reads[0]["actor"].startswith("test:township")
    assert reads[0]["entity_type"] == "household"
    for since, until, expected in ((date(2000, 1, 1), date(2099, 12, 31), len(everything)),
                                   (date(2099, 1, 1), None, 0), (None, date(2000, 1, 1), 0)):
        params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v}
        got = (await monitoring.get("/api/v1/audit", headers=COUNTY, params=params)).json()
        assert len(got) == expected, params
    r = await monitoring.get("/api/v1/audit", headers=COUNTY,
                             params={"entity_id": dibao["id"], "format": "xlsx"})
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    rows = list(openpyxl.load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))
    assert rows[1][:7] == ("序号", "时间", "操作人", "角色", "对象类型", "对象编号", "操作")
    assert [row[5] for row in rows[2:]] == [dibao["id"]] and rows[2][6] == "新增"


async def test_no_case_opens_beside_a_running_identification(monitoring):
    """The orphaned-identification situation cannot arise: the one function that opens cases
    refuses while another procedure of the household runs, and wants to know its way in."""
    import pytest

    from fangpin_common.auth import Principal
    from fangpin_common.errors import Conflict
    from fangpin_monitoring.cases.models import CaseCreate
    from fangpin_monitoring.cases.service import open_case

    _, dibao = await _households(monitoring)
    r = await monitoring.post("/api/v1/identifications", headers=VILLAGE, json={
        "household_id": dibao["id"], "source": "自主申报", "category": "突发严重困难户",
        "risk_types": ["因灾"]})
    assert r.status_code == 201
    app = monitoring.app
    county = Principal(sub="c", role="county")
    data = CaseCreate(household_id=dibao["id"], inclusion_date=TODAY,
                      category="突发严重困难户", risk_types=["因灾"])
    async with app.state.db.session() as session:
        with pytest.raises(Conflict, match="识别程序"):
            await open_case(session, data, county, app.state.county, app.state.clock,
                            identification_id="another")
        with pytest.raises(ValueError):
            await open_case(session, data, county, app.state.county, app.state.clock)
