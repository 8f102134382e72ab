"""The 包抓包核包过 verification campaign (M11): rules, generation, assignment, items,
sign-off, progress (JSON and XLSX), the township deadline and its events, scope and audit."""

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from fangpin_common.county import load_county
from fangpin_common.tables import AUDIT_LOG, DEADLINES
from fangpin_common.testing import COUNTY_CONFIG, auth, token_for
from fangpin_monitoring.campaigns import rules
from fangpin_monitoring.campaigns.models import Checklist

from .conftest import TODAY, household, member
from .households_kit import (
    BANLAN,
    COUNTY,
    OTHER_TOWNSHIP,
    TOWNSHIP,
    VILLAGE,
    count,
    events,
    quiet_app,
    start,
    state,
)

CODES = [i.code for i in load_county(COUNTY_CONFIG).campaign.items]
OTHER_VILLAGE = auth(token_for("village", "板榄镇", village="板榄二村"))
RESPONSIBLE = {"name": "黄干部", "unit": "板榄镇人民政府", "phone": "13800001111"}
VERIFIER = {"name": "梁队员", "unit": "县乡村振兴局驻村工作队"}


# -- pure rules ---------------------------------------------------------------------------
def test_the_plan_items_are_the_default_checklist():
    names = [i.name for i in load_county(COUNTY_CONFIG).campaign.items]
    assert names == ["收入情况", "监测帮扶", "不愁吃、不愁穿", "义务教育有保障", "基本医疗有保障",
                     "住房安全有保障", "饮水安全", "政策落实"]


def test_a_checklist_is_complete_when_every_item_is_verified_or_fixed():
    codes = ["a", "b", "c"]
    assert rules.counts(codes, {}) == rules.Counts(0, 0, 0, False)
    assert rules.counts(codes, {"a": "verified", "b": "discrepancy"}) == rules.Counts(
        1, 1, 0, False)
    assert rules.counts(codes, {"a": "verified", "b": "fixed", "c": "verified"}) == \
        rules.Counts(2, 0, 1, True)
    assert not rules.counts(codes, {"a": "verified", "b": "fixed", "c": "discrepancy"}).complete


def test_item_marks_follow_the_check_then_fix_order():
    assert rules.mark_problems("pending", "verified", None, None) == []
    assert [p[0] for p in rules.mark_problems("pending", "discrepancy", " ", None)] == ["note"]
    assert rules.mark_problems("pending", "discrepancy", "收入少登", None) == []
    assert [p[0] for p in rules.mark_problems("pending", "fixed", None, "已更正")] == ["status"]
    assert [p[0] for p in rules.mark_problems("discrepancy", "fixed", None, None)] == ["fix"]
    assert rules.mark_problems("discrepancy", "fixed", None, "已更正") == []
    assert [p[2] for p in rules.mark_problems("discrepancy", "verified", None, None)] == [
        "discrepancy_open"]
    assert rules.mark_problems("fixed", "discrepancy", "复查又发现", None) == []


def test_campaign_dates():
    assert rules.campaign_problems(TODAY, TODAY + timedelta(days=30), TODAY) == []
    assert [p[2] for p in rules.campaign_problems(TODAY, TODAY - timedelta(days=1), TODAY)] == [
        "invalid_dates"]
    assert [p[2] for p in rules.campaign_problems(TODAY - timedelta(days=9),
                                                  TODAY - timedelta(days=2), TODAY)] == [
        "due_in_past"]


# -- the API ------------------------------------------------------------------------------
@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock, run_scanners=False))
    client.clock = clock
    yield client
    await context.__aexit__(None, None, None)


async def add(app, serial: int, township="板榄镇", village="板榄村", category="脱贫户",
              **extra) -> str:
    body = household(township=township, village=village, category=category,
                     members=[member(serial=serial)], **extra)
    r = await app.post("/api/v1/households", json=body, headers=COUNTY)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def county_households(app) -> dict[str, str]:
    """Banlan: 3 脱贫户 and 1 监测户 in two villages, 1 一般农户; Chang'an: 1 脱贫户."""
    return {
        "a": await add(app, 1),
        "b": await add(app, 2),
        "c": await add(app, 3, village="板榄二村"),
        "m": await add(app, 4, category="监测户", monitoring_subcategory="边缘易致贫户"),
        "g": await add(app, 5, category="一般农户"),
        "x": await add(app, 6, township="长安镇", village="长安村"),
    }


async def create(app, **extra):
    body = {"name": "2024年第一轮", "start_on": TODAY.isoformat(),
            "due_on": (TODAY + timedelta(days=30)).isoformat()} | extra
    return await app.post("/api/v1/campaigns", json=body, headers=COUNTY)


async def test_creating_a_campaign_generates_one_checklist_per_household(app):
    ids = await county_households(app)
    r = await create(app)
    assert r.status_code == 201, r.text
    campaign = r.json()
    assert campaign["households"] == 5 and [i["code"] for i in campaign["items"]] == CODES
    async with app.app.state.db.session() as session:
        got = set((await session.execute(select(Checklist.household_id).where(
            Checklist.campaign_id == campaign["id"]))).scalars().all())
        deadlines = (await session.execute(select(DEADLINES).where(
            DEADLINES.c.kind == rules.DEADLINE).order_by(DEADLINES.c.township))).all()
    assert got == {ids[k] for k in "abcmx"}
    assert [(d.township, d.due_on, d.context["households"]) for d in deadlines] == [
        ("450224100", TODAY + timedelta(days=30), 1), (BANLAN, TODAY + timedelta(days=30), 4)]
    assert await count(app, AUDIT_LOG, AUDIT_LOG.c.entity_type == "campaign") == 1
    # A township subset, 监测户 only.
    r = await create(app, townships=["板榄镇"], categories=["监测户"])
    assert r.status_code == 201 and r.json()["households"] == 1
    assert r.json()["townships"] == [BANLAN]


async def test_bad_campaigns_are_refused_naming_the_field_and_nothing_is_written(app):
    await county_households(app)
    before = await state(app)
    r = await create(app, townships=["板榄镇", "火星乡"])
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "townships", 1]
    r = await create(app, due_on=(TODAY - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "due_on"]
    r = await create(app, categories=["贫困户"])
    assert r.status_code == 422
    r = await app.post("/api/v1/campaigns", headers=TOWNSHIP, json={
        "name": "x", "start_on": TODAY.isoformat(), "due_on": TODAY.isoformat()})
    assert r.status_code == 403
    assert await state(app) == before
    assert await count(app, Checklist.__table__) == 0


async def test_assign_check_fix_and_sign_off_a_checklist(app):
    ids = await county_households(app)
    campaign = (await create(app)).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    # Items wait for the township's assignment.
    r = await app.put(f"{base}/checklists/{ids['a']}/items/income", headers=VILLAGE,
                      json={"status": "verified"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "not_assigned"
    # By village (板榄村: a, b, m) and by household (c), in bulk.
    r = await app.post(f"{base}/assignments", headers=TOWNSHIP, json={
        "villages": ["板榄村"], "responsible": RESPONSIBLE, "verifier": VERIFIER})
    assert r.status_code == 200 and r.json() == {"assigned": 3}
    r = await app.post(f"{base}/assignments", headers=TOWNSHIP, json={
        "household_ids": [ids["c"]], "responsible": RESPONSIBLE, "verifier": VERIFIER})
    assert r.json() == {"assigned": 1}
    assert await count(app, AUDIT_LOG, AUDIT_LOG.c.action == "assign") == 4
    # The village checks item by item; one discrepancy, then fixed.
    for code in CODES:
        body = {"status": "verified"}
        if code == "income":
            body = {"status": "discrepancy", "note": "务工收入漏登"}
        r = await app.put(f"{base}/checklists/{ids['a']}/items/{code}", headers=VILLAGE,
                          json=body)
        assert r.status_code == 200, r.text
    checklist = r.json()
    assert (checklist["items_verified"], checklist["items_open"], checklist["complete"]) == (
        len(CODES) - 1, 1, False)
    r = await app.post(f"{base}/checklists/{ids['a']}/sign-off", headers=TOWNSHIP)
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "incomplete"
    r = await app.put(f"{base}/checklists/{ids['a']}/items/income", headers=VILLAGE,
                      json={"status": "fixed"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "fix"]
    r = await app.put(f"{base}/checklists/{ids['a']}/items/income", headers=VILLAGE,
                      json={"status": "fixed", "fix": "已补登务工收入"})
    assert r.status_code == 200 and r.json()["complete"] is True
    assert r.json()["completed_on"] == TODAY.isoformat()
    income = next(i for i in r.json()["items"] if i["code"] == "income")
    assert (income["status"], income["note"], income["fix"], income["name"]) == (
        "fixed", "务工收入漏登", "已补登务工收入", "收入情况")
    # 包过 is the township's; a village cannot sign off.
    r = await app.post(f"{base}/checklists/{ids['a']}/sign-off", headers=VILLAGE)
    assert r.status_code == 403
    r = await app.post(f"{base}/checklists/{ids['a']}/sign-off", headers=TOWNSHIP)
    assert r.status_code == 200 and r.json()["signed_off"] is True
    r = await app.put(f"{base}/checklists/{ids['a']}/items/income", headers=VILLAGE,
                      json={"status": "discrepancy", "note": "x"})
    assert r.status_code == 409
    r = await app.put(f"{base}/checklists/{ids['b']}/items/nothing", headers=VILLAGE,
                      json={"status": "verified"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "code"]
    r = await app.get(f"{base}/checklists/{ids['a']}", headers=VILLAGE)
    assert r.json()["responsible"] == RESPONSIBLE
    assert r.json()["verifier"] == VERIFIER | {"phone": None}
    assert [i["status"] for i in r.json()["items"]] == ["fixed"] + ["verified"] * (len(CODES) - 1)
    r = await app.get(f"{base}/checklists", headers=TOWNSHIP, params={"state": "signed_off"})
    assert [c["household_id"] for c in r.json()] == [ids["a"]]


async def test_scope_of_a_campaign(app):
    ids = await county_households(app)
    campaign = (await create(app)).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    before = await state(app)
    # Another township's household, a village outside the township, a household not in the
    # campaign (一般农户): refused whole, naming each.
    r = await app.post(f"{base}/assignments", headers=OTHER_TOWNSHIP, json={
        "household_ids": [ids["x"], ids["a"], ids["g"]], "villages": ["板榄村"],
        "responsible": RESPONSIBLE, "verifier": VERIFIER})
    assert r.status_code == 422
    assert [(d["loc"][1:], d["type"]) for d in r.json()["detail"]] == [
        (["household_ids", 1], "out_of_scope"), (["household_ids", 2], "not_in_campaign"),
        (["villages", 0], "not_in_campaign")]
    r = await app.post(f"{base}/assignments", headers=TOWNSHIP, json={
        "responsible": RESPONSIBLE, "verifier": VERIFIER})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "household_ids"]
    assert await state(app) == before
    r = await app.post(f"{base}/assignments", headers=VILLAGE, json={
        "household_ids": [ids["a"]], "responsible": RESPONSIBLE, "verifier": VERIFIER})
    assert r.status_code == 403
    # Reading: a township sees its own checklists, a village its village's.
    r = await app.get(f"{base}/checklists", headers=TOWNSHIP)
    assert {c["household_id"] for c in r.json()} == {ids[k] for k in "abcm"}
    r = await app.get(f"{base}/checklists", headers=VILLAGE)
    assert {c["household_id"] for c in r.json()} == {ids[k] for k in "abm"}
    r = await app.get(f"{base}/checklists/{ids['c']}", headers=VILLAGE)
    assert r.status_code == 403
    r = await app.put(f"{base}/checklists/{ids['x']}/items/income", headers=OTHER_VILLAGE,
                      json={"status": "verified"})
    assert r.status_code == 403


async def check_all(app, base: str, household_id: str, headers=VILLAGE) -> None:
    for code in CODES:
        r = await app.put(f"{base}/checklists/{household_id}/items/{code}", headers=headers,
                          json={"status": "verified"})
        assert r.status_code == 200, r.text


async def test_progress_by_township_and_village_as_json_and_xlsx(app):
    ids = await county_households(app)
    campaign = (await create(app)).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    await app.post(f"{base}/assignments", headers=TOWNSHIP, json={
        "villages": ["板榄村", "板榄二村"], "responsible": RESPONSIBLE, "verifier": VERIFIER})
    await check_all(app, base, ids["a"])
    await app.post(f"{base}/checklists/{ids['a']}/sign-off", headers=TOWNSHIP)
    await check_all(app, base, ids["b"])
    r = await app.put(f"{base}/checklists/{ids['m']}/items/drinking_water", headers=VILLAGE,
                      json={"status": "discrepancy", "note": "自来水未通户"})
    assert r.status_code == 200
    r = await app.get(f"{base}/progress", headers=COUNTY)
    assert r.status_code == 200
    rows = {row["township_name"]: row for row in r.json()["rows"]}
    fields = ("households", "assigned", "verified", "discrepancies_open",
              "households_with_open", "complete", "signed_off")
    assert [rows["板榄镇"][f] for f in fields] == [4, 4, 2, 1, 1, 2, 1]
    assert [rows["长安镇"][f] for f in fields] == [1, 0, 0, 0, 0, 0, 0]
    assert [r.json()["total"][f] for f in fields] == [5, 4, 2, 1, 1, 2, 1]
    r = await app.get(f"{base}/progress", headers=VILLAGE, params={"by": "village"})
    assert [(row["village"], row["households"], row["complete"]) for row in r.json()["rows"]] \
        == [("板榄村", 3, 2)]
    r = await app.get(f"{base}/progress.xlsx", headers=TOWNSHIP, params={"by": "village"})
    assert r.status_code == 200
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = list(sheet.values)
    assert values[1][:4] == ("乡镇", "村（社区）", "核实户数", "已安排包抓包核")
    assert values[1][-1] == "包过率（%）"
    assert [v[:3] for v in values[2:]] == [("板榄镇", "板榄二村", 1), ("板榄镇", "板榄村", 3),
                                          ("合计", None, 4)]
    assert values[3][-1] == pytest.approx(33.3)


async def test_the_township_deadline_reminds_and_is_met_by_the_last_sign_off(app):
    ids = await county_households(app)
    campaign = (await create(app, townships=["长安镇"])).json()
    base = f"/api/v1/campaigns/{campaign['id']}"
    scanner = app.app.state.scanner
    app.clock.set_today(TODAY + timedelta(days=24))  # 7 days before the due date
    await scanner.scan()
    due_soon = await events(app, "fangpin.monitoring.campaign.township_due_soon")
    assert [(e["data"]["township"], e["data"]["context"]["campaign_name"]) for e in due_soon] \
        == [("450224100", "2024年第一轮")]
    app.clock.set_today(TODAY + timedelta(days=31))
    await scanner.scan()
    overdue = await events(app, "fangpin.monitoring.campaign.township_overdue")
    assert [(e["data"]["days_overdue"], e["data"]["due_on"]) for e in overdue] == [
        (1, (TODAY + timedelta(days=30)).isoformat())]
    # Signed off late: the deadline is met (late), no more reminders.
    changan = auth(token_for("township", "长安镇"))
    await app.post(f"{base}/assignments", headers=changan, json={
        "household_ids": [ids["x"]], "responsible": RESPONSIBLE, "verifier": VERIFIER})
    await check_all(app, base, ids["x"], headers=changan)
    r = await app.post(f"{base}/checklists/{ids['x']}/sign-off", headers=changan)
    assert r.status_code == 200, r.text
    async with app.app.state.db.session() as session:
        row = (await session.execute(select(DEADLINES).where(
            DEADLINES.c.kind == rules.DEADLINE))).one()
    assert (row.state, row.met_on) == ("met", TODAY + timedelta(days=31))


async def test_generation_is_one_statement_for_many_households(app, backend):
    """Many households: generation and village assignment stay set-based (a few statements,
    not one per household). 2,000 here; bench figures are not asserted."""
    from uuid import uuid4

    from fangpin_common.db import bulk_insert
    from fangpin_monitoring.households.models import Household

    now = app.clock.now()
    rows = [{"id": str(uuid4()), "township": BANLAN, "village": f"村{i % 20}",
             "category": "脱贫户" if i % 3 else "监测户", "monitoring_subcategory": None,
             "address": None, "phone": None, "head_name": f"户主{i}", "revision": 1,
             "platform_id": None, "relocation_site": False, "whole_household_dibao": False,
             "dangerous_house_renovation": False, "disaster_hit": False, "created_at": now,
             "updated_at": now} for i in range(2000)]
    async with app.app.state.db.unit_of_work() as session:
        await bulk_insert(session, Household.__table__, rows)
    r = await create(app)
    assert r.status_code == 201 and r.json()["households"] == 2000
    r = await app.post(f"/api/v1/campaigns/{r.json()['id']}/assignments", headers=TOWNSHIP,
                       json={"villages": ["村1", "村2"], "responsible": RESPONSIBLE,
                             "verifier": VERIFIER})
    assert r.json() == {"assigned": 200}
