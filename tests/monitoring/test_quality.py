"""Data quality (M10): every rule finds its planted example and leaves clean households alone;
the anomaly lifecycle (fixed, re-opened, explained); scheduled runs; scope; lists and XLSX."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime
from itertools import count as counter

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from fangpin_common.auth import mask_id_number
from fangpin_common.clock import BUSINESS_TZ
from fangpin_common.testing import eventually, settings_for
from fangpin_monitoring.cases.models import Case, Helper
from fangpin_monitoring.households.models import Household, Member
from fangpin_monitoring.income.models import IncomeRecord
from fangpin_monitoring.main import create_app
from fangpin_monitoring.plans.models import AssistancePlan, Measure
from fangpin_monitoring.quality import jobs, rules, service
from fangpin_monitoring.quality.export import HEADERS
from fangpin_monitoring.quality.models import Anomaly, QualityRun, QualitySlot
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_monitoring.visits.models import Visit
from fangpin_monitoring.warnings.models import RiskWarning

from .conftest import TODAY, resident_id
from .households_kit import BANLAN, COUNTY, OTHER_TOWNSHIP, TOWNSHIP, VILLAGE, events, start

CHANGAN = "450224100"
NOW = datetime(2024, 4, 1, tzinfo=UTC)
_ids = counter(1)


@pytest.fixture
async def app(database, nats_server, clock):
    settings = settings_for(MonitoringSettings, database, nats_server.url, run_relay=False,
                            visit_deadlines_job=False, quality_job=False)
    context, client = await start(create_app(settings, clock))
    yield client
    await context.__aexit__(None, None, None)


# -- planting -----------------------------------------------------------------------------

def person(household_id: str, name: str | None = None, born=date(1980, 1, 1), male=True,
           relation="户主", labour="普通劳动力", **extra) -> Member:
    serial = next(_ids)
    number = extra.pop("id_number", None) or resident_id("450224", born, serial % 100, male)
    return Member(id=f"{household_id}-m{serial}", household_id=household_id,
                  name=name or f"韦{serial}",
                  id_number=number, sex="男" if male else "女", birth_date=born,
                  relation=relation, labour_capacity=labour, **extra)


def home(hid: str, category="脱贫户", township=BANLAN, village="板榄村", members=None,
         visited=True, **extra) -> list:
    household = Household(id=hid, township=township, village=village, category=category,
                          head_name="韦明", phone="13800138000", created_at=NOW,
                          updated_at=NOW, **extra)
    rows: list = [household, *(members if members is not None else [person(hid)])]
    if visited:
        rows.append(Visit(id=f"{hid}-v", household_id=hid, township=township, village=village,
                          visited_on=date(2024, 2, 1), visitor_name="网格员",
                          leaflet_explained=True, risk_found=False, risk_types=[],
                          recorded_by="t", created_at=NOW))
    return rows


def income(hid: str, period: str, yuan: int) -> IncomeRecord:
    return IncomeRecord(id=f"{hid}-{period}", household_id=hid, period=period,
                        source="工资性收入", amount_fen=yuan * 100, recorded_by="t",
                        recorded_on=TODAY, created_at=NOW)


def case(hid: str, status="open", included=date(2024, 3, 1), helper=True, plan=True,
         measure: tuple[str, str, str] | None = ("产业帮扶", "developmental", "county.agriculture"),
         ) -> list:
    cid = f"{hid}-c"
    rows: list = [Case(id=cid, household_id=hid, township=BANLAN, village="板榄村",
                       category="边缘易致贫户", risk_types=["因病"], inclusion_date=included,
                       status=status, created_at=NOW)]
    if helper:
        rows.append(Helper(id=f"{cid}-h", case_id=cid, name="帮扶人", assigned_on=included,
                           created_at=NOW))
    if plan:
        rows.append(AssistancePlan(id=f"{cid}-p", case_id=cid, filed_on=included,
                                   filed_by="t", summary="计划", created_at=NOW))
        if measure:
            kind_type, kind, unit = measure
            rows.append(Measure(id=f"{cid}-x", case_id=cid, plan_id=f"{cid}-p",
                                measure_type=kind_type, measure_kind=kind,
                                responsible_unit=unit, start_on=included, created_at=NOW,
                                updated_at=NOW))
    return rows


def steady_income(hid: str, yuan: int = 30000) -> list:
    return [income(hid, "2022-06", yuan), income(hid, "2023-06", yuan)]


def clean_households() -> list:
    """Households every rule must leave alone: a 脱贫户 (its old case eliminated), a 监测户
    with helper, plan and a developmental measure, an ordinary household."""
    rows = home("ok-1", members=[person("ok-1"), person("ok-1", "韦红", male=False,
                                                         relation="配偶"),
                                 person("ok-1", "韦小", born=date(2015, 5, 1), relation="之子",
                                        labour="无劳动力", in_school=True)])
    rows += steady_income("ok-1") + case("ok-1", status="eliminated", included=date(2022, 1, 5))
    rows += home("ok-2", category="监测户", monitoring_subcategory="边缘易致贫户")
    rows += steady_income("ok-2", 8000) + case("ok-2")
    rows += home("ok-3", category="一般农户", visited=False) + steady_income("ok-3")
    return rows


def bad_id(hid: str) -> Member:
    m = person(hid)
    m.id_number = m.id_number[:17] + ("0" if m.id_number[17] != "0" else "1")
    return m


def plant(code: str) -> tuple[list, list[str]]:
    """Rows that make `code` find something, and the households it must name."""
    h = f"bad-{code}"
    one = [h]
    if code == "Q01":
        return home(h, members=[bad_id(h)]), one
    if code == "Q02":
        return home(h, members=[person(h, id_number=resident_id("450224", date(1981, 1, 1),
                                                                 7, True))]), one
    if code == "Q03":
        return home(h, members=[person(h, male=False, id_number=resident_id(
            "450224", date(1980, 1, 1), 8, True))]), one
    if code == "Q04":
        return home(h, members=[person(h), person(h, "韦幼", born=date(2014, 6, 1),
                                                   relation="之子")]), one
    if code == "Q05":
        return home(h, members=[person(h), person(h, "韦生", born=date(2004, 6, 1),
                                                   relation="之子", in_school=True)]), one
    if code == "Q06":
        rows = home(h)
        member = rows[1]
        rows.append(RiskWarning(id=f"{h}-w", kind="public_security.death", source="部门比对",
                                household_id=h, member_id=member.id, township=BANLAN,
                                village="板榄村", risk_type="其他", reason="死亡",
                                status="raised", dedupe_key=f"{h}-w", raised_on=TODAY,
                                verify_due_on=TODAY, created_at=NOW))
        return rows, one
    if code == "Q07":
        born = date(1975, 3, 3)
        return (home(f"{h}a", members=[person(f"{h}a", "覃同", born=born)])
                + home(f"{h}b", members=[person(f"{h}b", "覃同", born=born)]),
                [f"{h}a", f"{h}b"])
    if code == "Q08":
        return home(h) + [income(h, "2022-03", 20000), income(h, "2023-03", 50000)], one
    if code == "Q09":
        return home(h, "监测户", monitoring_subcategory="脱贫不稳定户") + case(
            h, helper=False, plan=False), one
    if code == "Q10":
        return home(h, "监测户", monitoring_subcategory="脱贫不稳定户") + case(h, plan=False), one
    if code == "Q11":
        return home(h, "监测户", monitoring_subcategory="脱贫不稳定户") + case(
            h, measure=("产业帮扶", "developmental", "nowhere.unit")), one
    if code == "Q12":
        return home(h, "监测户", monitoring_subcategory="脱贫不稳定户") + case(
            h, measure=("低保", "safety_net", "county.civil_affairs")), one
    if code == "Q13":
        return home(h, members=[person(h), person(h, "韦二")]), one
    if code == "Q14":
        return home(h, "监测户"), one
    if code == "Q15":
        return home(h, monitoring_subcategory="边缘易致贫户"), one
    if code == "Q16":
        return home(h, "一般农户") + [income(h, "2023-05", 500)], one
    if code == "Q17":
        return home(h, visited=False), one
    if code == "Q18":
        rows = home(h)
        rows[0].phone = "12345"
        return rows, one
    if code == "Q19":
        return home(h) + case(h, status="eliminated") + [income(h, "2023-05", 300)], one
    if code == "Q20":
        return home(h, members=[person(h, deceased=True)]), one
    raise AssertionError(f"no planted example for {code}")


async def put(client, rows: list) -> None:
    async with client.app.state.db.unit_of_work() as session:
        for row in rows:  # parents before children
            session.add(row)
            await session.flush()


async def run(client, headers=COUNTY, **body):
    response = await client.post("/api/v1/quality/runs", headers=headers, json=body or None)
    assert response.status_code == 201, response.text
    return response.json()


async def anomalies(client) -> list[Anomaly]:
    async with client.app.state.db.session() as session:
        return list((await session.execute(select(Anomaly))).scalars())


# -- every rule -----------------------------------------------------------------------------

async def test_every_rule_finds_its_example_and_spares_clean_households(app):
    rows = clean_households()
    expected: dict[str, list[str]] = {}
    for code in rules.CODES:
        planted, households = plant(code)
        rows += planted
        expected[code] = households
    await put(app, rows)
    result = await run(app)
    assert result["rules"] == list(rules.CODES)
    found = await anomalies(app)
    by_rule: dict[str, set[str]] = {}
    for a in found:
        by_rule.setdefault(a.rule_code, set()).add(a.household_id)
    for code, households in expected.items():
        assert set(households) <= by_rule.get(code, set()), f"{code} missed its example"
    flagged_clean = [(a.rule_code, a.household_id) for a in found
                     if a.household_id.startswith("ok-")]
    assert flagged_clean == []
    assert result["found"] == len(found) == result["new"]
    assert result["counts_by_rule"] == {code: len([a for a in found if a.rule_code == code])
                                        for code in rules.CODES}
    assert result["counts_by_township"] == {BANLAN: len(found)}
    member_rules = {a.rule_code for a in found if a.member_id}
    assert {"Q01", "Q02", "Q03", "Q04", "Q05", "Q06", "Q07"} <= member_rules
    # Details tell the township what is wrong.
    q02 = next(a for a in found if a.rule_code == "Q02")
    assert q02.detail == "出生日期 1980-01-01 与身份证号中的 19810101 不一致"


# -- lifecycle ------------------------------------------------------------------------------

async def test_fixed_reopened_and_explained(app):
    await put(app, plant("Q14")[0] + plant("Q15")[0] + clean_households())
    first = await run(app, rules=["Q14", "Q15"])
    assert (first["found"], first["new"], first["fixed"]) == (2, 2, 0)

    async with app.app.state.db.unit_of_work() as session:
        await session.execute(update(Household).where(Household.id == "bad-Q14")
                              .values(monitoring_subcategory="突发严重困难户"))
    second = await run(app, rules=["Q14", "Q15"])
    assert (second["found"], second["new"], second["still_open"], second["fixed"]) == (1, 0, 1, 1)
    q14 = next(a for a in await anomalies(app) if a.rule_code == "Q14")
    assert q14.status == "fixed" and q14.fixed_run_id == second["id"] and q14.fixed_at

    # A run of other rules leaves these items alone.
    other = await run(app, rules=["Q13"])
    assert other["fixed"] == 0
    assert {a.rule_code: a.status for a in await anomalies(app)} == {"Q14": "fixed",
                                                                     "Q15": "open"}

    async with app.app.state.db.unit_of_work() as session:
        await session.execute(update(Household).where(Household.id == "bad-Q14")
                              .values(monitoring_subcategory=None))
    third = await run(app, rules=["Q14", "Q15"])
    assert (third["reopened"], third["new"], third["still_open"]) == (1, 0, 1)
    q14 = next(a for a in await anomalies(app) if a.rule_code == "Q14")
    assert (q14.status, q14.reopened, q14.fixed_at, q14.first_run_id) == (
        "open", 1, None, first["id"])

    q15 = next(a for a in await anomalies(app) if a.rule_code == "Q15")
    short = await app.post(f"/api/v1/quality/anomalies/{q15.id}/explain", headers=TOWNSHIP,
                           json={"reason": "  属实 "})
    assert short.status_code == 422
    assert short.json()["detail"][0]["loc"] == ["body", "reason"]
    explained = await app.post(f"/api/v1/quality/anomalies/{q15.id}/explain", headers=TOWNSHIP,
                               json={"reason": "该户为整户低保户，按县里要求保留类别标注"})
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert (body["status"], body["status_name"]) == ("explained", "已说明")
    assert body["explained_by"].startswith("test:township")
    again = await app.post(f"/api/v1/quality/anomalies/{q15.id}/explain", headers=TOWNSHIP,
                           json={"reason": "再次说明一下情况"})
    assert again.status_code == 409
    fourth = await run(app, rules=["Q14", "Q15"])
    q15 = next(a for a in await anomalies(app) if a.rule_code == "Q15")
    assert q15.status == "explained" and q15.last_run_id == fourth["id"]
    assert fourth["counts_by_township"] == {BANLAN: 1}  # the open Q14 only
    # Explained and no longer found: it stays explained.
    async with app.app.state.db.unit_of_work() as session:
        await session.execute(update(Household).where(Household.id == "bad-Q15")
                              .values(monitoring_subcategory=None))
    await run(app, rules=["Q15"])
    q15 = next(a for a in await anomalies(app) if a.rule_code == "Q15")
    assert q15.status == "explained"


async def test_bad_requests_are_refused(app):
    bad = await app.post("/api/v1/quality/runs", headers=COUNTY, json={"rules": ["Q01", "Q99"]})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "rules", 1]
    assert "Q99" in bad.json()["detail"][0]["msg"]
    denied = await app.post("/api/v1/quality/runs", headers=TOWNSHIP, json={})
    assert denied.status_code == 403
    listing = await app.get("/api/v1/quality/anomalies", headers=COUNTY, params={"rule": "Q99"})
    assert listing.status_code == 422 and listing.json()["detail"][0]["loc"] == ["query", "rule"]
    async with app.app.state.db.session() as session:
        assert (await session.execute(select(QualityRun))).first() is None
    missing = await app.get("/api/v1/quality/runs/nope", headers=COUNTY)
    assert missing.status_code == 404


async def test_rule_catalogue_and_run_history(app):
    catalogue = (await app.get("/api/v1/quality/rules", headers=VILLAGE)).json()
    assert [r["code"] for r in catalogue] == list(rules.CODES)
    assert catalogue[5] | {"explanation": ""} == {
        "code": "Q06", "title": "公安比对已死亡仍登记为在世", "explanation": "",
        "level": "township", "level_name": "乡镇"}
    manual = await run(app, rules=["Q20", "Q01", "Q20"])
    assert manual["rules"] == ["Q20", "Q01"] and manual["trigger"] == "manual"
    assert manual["run_by"].startswith("test:county")
    history = (await app.get("/api/v1/quality/runs", headers=TOWNSHIP)).json()
    assert [r["id"] for r in history] == [manual["id"]]
    assert (await app.get(f"/api/v1/quality/runs/{manual['id']}", headers=COUNTY)).json() == manual


async def test_concurrent_runs_take_turns(app):
    await put(app, plant("Q14")[0] + plant("Q13")[0])
    first, second = await asyncio.gather(run(app), run(app))
    assert sorted((first["new"], second["new"])) == [0, 2]
    assert sorted((first["still_open"], second["still_open"])) == [0, 2]
    assert len(await anomalies(app)) == 2


async def test_moving_village_moves_the_item(app):
    await put(app, plant("Q14")[0])
    await run(app, rules=["Q14"])
    async with app.app.state.db.unit_of_work() as session:
        await session.execute(update(Household).where(Household.id == "bad-Q14")
                              .values(village="新村"))
    await run(app, rules=["Q14"])
    assert [(a.village, a.status) for a in await anomalies(app)] == [("新村", "open")]


# -- events -------------------------------------------------------------------------------

async def test_run_emits_completion_and_township_assignments(app):
    rows = plant("Q14")[0] + plant("Q15")[0]
    rows += home("cha-1", "监测户", township=CHANGAN, village="长安村")
    await put(app, rows)
    result = await run(app, rules=["Q14", "Q15"])
    [completed] = await events(app, "fangpin.monitoring.quality.run_completed")
    assert completed["data"]["run_id"] == result["id"]
    assert completed["data"]["counts_by_township"] == {BANLAN: 2, CHANGAN: 1}
    assert completed["data"]["counts_by_rule"] == {"Q14": 2, "Q15": 1}
    assigned = {e["data"]["township"]: e["data"] for e in
                await events(app, "fangpin.monitoring.quality.anomalies_assigned")}
    assert set(assigned) == {BANLAN, CHANGAN}
    assert (assigned[BANLAN]["open_count"], assigned[BANLAN]["new_count"]) == (2, 2)
    assert assigned[CHANGAN]["counts_by_rule"] == {"Q14": 1}
    assert f"township={CHANGAN}" in assigned[CHANGAN]["link"]


# -- scope, lists, XLSX ---------------------------------------------------------------------

async def test_lists_are_scoped_filtered_and_paginated(app):
    rows = plant("Q14")[0] + plant("Q15")[0] + plant("Q13")[0]
    rows += home("other-village", "监测户", village="另一村")
    rows += home("cha-1", "监测户", township=CHANGAN, village="长安村")
    await put(app, rows)
    await run(app, rules=["Q13", "Q14", "Q15"])

    async def households(headers, **params):
        response = await app.get("/api/v1/quality/anomalies", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    everything = await households(COUNTY)
    assert everything["total"] == 5
    township = await households(TOWNSHIP)
    assert {i["household_id"] for i in township["items"]} == {
        "bad-Q13", "bad-Q14", "bad-Q15", "other-village"}
    assert (await households(OTHER_TOWNSHIP))["total"] == 1
    assert (await households(OTHER_TOWNSHIP, township="板榄镇"))["total"] == 0
    village = await households(VILLAGE)
    assert {i["household_id"] for i in village["items"]} == {"bad-Q13", "bad-Q14", "bad-Q15"}
    assert (await households(TOWNSHIP, village="另一村"))["total"] == 1
    assert [i["rule_code"] for i in (await households(COUNTY, rule="Q14"))["items"]] == [
        "Q14", "Q14", "Q14"]
    paged = await households(COUNTY, page_size=2, page=3)
    assert (paged["total"], len(paged["items"])) == (5, 1)
    assert (await households(COUNTY, status="fixed"))["total"] == 0

    cha = (await households(COUNTY, township="长安镇"))["items"][0]
    refused = await app.post(f"/api/v1/quality/anomalies/{cha['id']}/explain", headers=TOWNSHIP,
                             json={"reason": "不是本乡镇的农户问题"})
    assert refused.status_code == 404
    by_village = await app.post(f"/api/v1/quality/anomalies/{cha['id']}/explain",
                                headers=VILLAGE, json={"reason": "村级不能说明问题"})
    assert by_village.status_code == 403


async def test_xlsx_list_with_chinese_headers_and_masked_ids(app):
    await put(app, plant("Q02")[0])
    await run(app, rules=["Q02"])
    async with app.app.state.db.session() as session:
        member = (await session.execute(select(Member).where(
            Member.household_id == "bad-Q02"))).scalar_one()
        anomaly = (await session.execute(select(Anomaly))).scalar_one()

    def sheet_of(response):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        return list(load_workbook(io.BytesIO(response.content)).active.values)

    rows = sheet_of(await app.get("/api/v1/quality/anomalies.xlsx", headers=VILLAGE,
                                  params={"village": "板榄村"}))
    assert rows[0][0] == "板榄村数据清洗问题清单"
    rows = rows[1:]
    assert rows[0][:11] == ("规则编号", "问题", "整改层级", "乡镇", "村", "户编号", "户主",
                            "成员", "身份证号", "说明", "状态")
    assert rows[0] == HEADERS
    first_found = anomaly.first_found_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M")
    assert rows[1] == ("Q02", "出生日期与身份证号不一致", "村级", "板榄镇", "板榄村", "bad-Q02",
                       "韦明", member.name, mask_id_number(member.id_number),
                       f"出生日期 1980-01-01 与身份证号中的 {member.id_number[6:14]} 不一致",
                       "待整改", first_found, first_found, None, None)
    assert rows[3][0] == "共 1 条"
    township_rows = sheet_of(await app.get("/api/v1/quality/anomalies.xlsx", headers=TOWNSHIP,
                                           params={"township": "板榄镇"}))
    assert township_rows[0][0] == "板榄镇数据清洗问题清单"
    assert township_rows[2][8] == member.id_number
    other = sheet_of(await app.get("/api/v1/quality/anomalies.xlsx", headers=OTHER_TOWNSHIP))
    assert [r[0] for r in other[2:]] == [None, "共 0 条"]


# -- schedule -------------------------------------------------------------------------------

async def test_scheduled_runs_once_per_slot(app, clock):
    ctx = app.app.state.ctx
    await put(app, plant("Q14")[0])
    # 10 April: the latest slot is 1 April (run days 1, 11, 21); two jobs at once run it once.
    assert sorted(await asyncio.gather(jobs.run_due(ctx), jobs.run_due(ctx))) == [False, True]
    assert await jobs.run_due(ctx) is False
    clock.set_today(date(2024, 4, 11))
    assert await jobs.run_due(ctx) is True
    clock.set_today(date(2024, 4, 20))
    assert await jobs.run_due(ctx) is False
    clock.set_today(date(2024, 5, 2))
    assert await jobs.run_due(ctx) is True
    async with app.app.state.db.session() as session:
        runs = list((await session.execute(select(QualityRun).order_by(
            QualityRun.started_at))).scalars())
        slots = {s.slot: s.run_id for s in (await session.execute(select(QualitySlot))).scalars()}
    assert [(r.trigger, r.slot, r.run_by) for r in runs] == [
        ("scheduled", date(2024, 4, 1), None), ("scheduled", date(2024, 4, 11), None),
        ("scheduled", date(2024, 5, 1), None)]
    assert slots == {r.slot: r.id for r in runs}


async def test_two_started_services_run_a_slot_once(database, nats_server, clock, monkeypatch):
    checks: dict[int, int] = {}  # finished checks of each service's job, by its context
    run_due = jobs.run_due

    async def counted(ctx) -> bool:
        try:
            return await run_due(ctx)
        finally:
            checks[id(ctx)] = checks.get(id(ctx), 0) + 1

    async def checked(client, times: int) -> None:
        ctx = client.app.state.ctx
        await eventually(lambda: checks.get(id(ctx), 0) >= times, timeout=60)

    monkeypatch.setattr(jobs, "run_due", counted)
    settings = settings_for(MonitoringSettings, database, nats_server.url, run_relay=False,
                            visit_deadlines_job=False, quality_first_check_seconds=0,
                            quality_check_interval_seconds=0.05)
    first_context, first = await start(create_app(settings, clock))
    try:
        second_context, second = await start(create_app(settings, clock))
        try:
            await checked(first, 3)  # both jobs have checked several times
            await checked(second, 3)
        finally:
            await second_context.__aexit__(None, None, None)
    finally:
        await first_context.__aexit__(None, None, None)
    # A restart later the same day finds the slot claimed.
    third_context, third = await start(create_app(settings, clock))
    try:
        await checked(third, 2)
        async with third.app.state.db.session() as session:
            runs = list((await session.execute(select(QualityRun))).scalars())
    finally:
        await third_context.__aexit__(None, None, None)
    assert [(r.trigger, r.slot) for r in runs] == [("scheduled", TODAY.replace(day=1))]


async def test_scheduled_run_and_claim_roll_back_together(app, clock):
    """A run that fails leaves its slot unclaimed, so the next check runs it."""
    async with app.app.state.db.unit_of_work() as session:
        assert await service.claim_slot(session, date(2024, 4, 1), clock.now())
    async with app.app.state.db.unit_of_work() as session:
        assert not await service.claim_slot(session, date(2024, 4, 1), clock.now())
    with pytest.raises(RuntimeError):
        async with app.app.state.db.unit_of_work() as session:
            assert await service.claim_slot(session, date(2024, 4, 11), clock.now())
            raise RuntimeError("run failed")
    async with app.app.state.db.unit_of_work() as session:
        assert await service.claim_slot(session, date(2024, 4, 11), clock.now())
