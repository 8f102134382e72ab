"""Verification, identification, platform inclusion, plans, income and elimination over HTTP:
their rules, scopes and deadlines, and bad input that is refused precisely and changes nothing."""

from datetime import date, timedelta

import pytest

from fangpin_common.clock import SettableClock
from fangpin_common.county import load_county
from fangpin_common.tables import DEADLINES, OUTBOX
from fangpin_common.testing import COUNTY_CONFIG, confirmed_case, running, settings_for
from fangpin_monitoring.cases.models import Case
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

from .conftest import TODAY, member
from .support import (
    COUNTY,
    OTHER_TOWNSHIP,
    PLATFORM,
    TOWNSHIP,
    VILLAGE,
    count,
    csv_bytes,
    department,
    new_household,
    person_id,
    state,
    step_body,
    upload,
)


@pytest.fixture
async def monitoring(database, nats_server, clock: SettableClock):
    """The service without its relay: what a request queued stays in the outbox to be read."""
    settings = settings_for(MonitoringSettings, database, nats_server.url, run_relay=False)
    app = create_app(settings, clock)
    async with running(app) as client:
        client.app = app
        yield client


async def raise_warning(client, serial: int = 1) -> dict:
    r = await upload(client, "hrss.unemployment", csv_bytes(["身份证号"], [[person_id(serial)]]),
                     headers=department("county.hrss"))
    assert r.status_code == 201 and r.json()["warnings_raised"] == 1, r.text
    return (await client.get(f"/api/v1/warnings?upload_id={r.json()['id']}",
                             headers=COUNTY)).json()[0]


async def queued_types(client) -> list[str]:
    from sqlalchemy import select

    async with client.app.state.db.session() as session:
        return [t for (t,) in await session.execute(select(OUTBOX.c.event_type))]


async def test_verification_deadline_scope_and_decisions(monitoring):
    await new_household(monitoring, 1)
    await new_household(monitoring, 2)
    w1, w2 = await raise_warning(monitoring, 1), await raise_warning(monitoring, 2)
    clock = monitoring.app.state.clock
    # Due soon two days before the 7th day, overdue the day after it; each once.
    clock.set_today(TODAY + timedelta(days=5))
    assert await monitoring.app.state.scanner.scan() == 2
    clock.set_today(TODAY + timedelta(days=8))
    assert await monitoring.app.state.scanner.scan() == 2
    assert await monitoring.app.state.scanner.scan() == 0
    types = await queued_types(monitoring)
    assert types.count("fangpin.monitoring.warning.verification_due_soon") == 2
    assert types.count("fangpin.monitoring.warning.verification_overdue") == 2

    before = await state(monitoring)
    url = f"/api/v1/warnings/{w1['id']}/verification"
    assert (await monitoring.post(url, json={"decision": "dismiss", "reason": "已复学"},
                                  headers=VILLAGE)).status_code == 403
    assert (await monitoring.post(url, json={"decision": "dismiss", "reason": "已复学"},
                                  headers=OTHER_TOWNSHIP)).status_code == 403
    for body, loc in [
        ({"decision": "dismiss"}, ["body", "reason"]),
        ({"decision": "include"}, ["body", "category"]),
        ({"decision": "maybe"}, ["body", "decision"]),
        ({"decision": "include", "category": "边缘易致贫户", "risk_types": ["因懒"]},
         ["body", "risk_types", 0]),
        ({"decision": "dismiss", "reason": "x", "verified_on": "2030-01-01"},
         ["body", "verified_on"]),
    ]:
        r = await monitoring.post(url, json=body, headers=TOWNSHIP)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert await state(monitoring) == before

    r = await monitoring.post(url, json={"decision": "dismiss", "reason": "已在县内稳定就业"},
                              headers=TOWNSHIP)
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["is_open"] is False
    assert (await monitoring.post(url, json={"decision": "dismiss", "reason": "again"},
                                  headers=TOWNSHIP)).status_code == 409
    r = await monitoring.post(f"/api/v1/warnings/{w2['id']}/verification", headers=COUNTY,
                              json={"decision": "include", "category": "边缘易致贫户"})
    assert r.status_code == 200 and r.json()["identification_id"]
    types = await queued_types(monitoring)
    assert types.count("fangpin.monitoring.warning.verified") == 2
    # The dismissed warning is closed: next month's file raises it again; the included one
    # is still open while its identification runs.
    r = await upload(monitoring, "hrss.unemployment",
                     csv_bytes(["身份证号"], [[person_id(1)], [person_id(2)]]),
                     period="2024-04", headers=department("county.hrss"))
    assert (r.json()["warnings_raised"], r.json()["rows_already_open"]) == (1, 1)


async def test_identification_steps_in_order_with_deadlines(monitoring):
    h = await new_household(monitoring, 1)
    clock = monitoring.app.state.clock
    before = await state(monitoring)
    good = {"household_id": h["id"], "source": "自主申报", "category": "突发严重困难户",
            "risk_types": ["因灾"], "clue": "房屋被洪水冲毁"}
    for body, loc in [({**good, "household_id": "nope"}, ["body", "household_id"]),
                      ({**good, "source": "传闻"}, ["body", "source"]),
                      ({**good, "risk_types": []}, ["body", "risk_types"])]:
        r = await monitoring.post("/api/v1/identifications", json=body, headers=VILLAGE)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert await state(monitoring) == before
    r = await monitoring.post("/api/v1/identifications", json=good, headers=VILLAGE)
    assert r.status_code == 201, r.text
    ident = r.json()
    assert ident["deadlines"] == [{"kind": "identification.risk_review",
                                   "due_on": (TODAY + timedelta(days=3)).isoformat(),
                                   "state": "open", "met_on": None}]
    assert (await monitoring.post("/api/v1/identifications", json=good,
                                  headers=VILLAGE)).status_code == 409
    url = f"/api/v1/identifications/{ident['id']}/steps"

    # Order, roles, facts: each refused with the reason, and nothing changes.
    clock.set_today(TODAY + timedelta(days=1))
    await monitoring.post(url, json=step_body("risk_review", clock.today()), headers=VILLAGE)
    before = await state(monitoring)
    refused = [
        (step_body("data_comparison", clock.today()), COUNTY, ["body", "step"], "入户核查"),
        (step_body("risk_review", clock.today()), VILLAGE, ["body", "step"], "已完成"),
        (step_body("home_check", clock.today(), application_signed=False), VILLAGE,
         ["body", "application_signed"], "申请书"),
        (step_body("home_check", clock.today() + timedelta(days=1)), VILLAGE,
         ["body", "done_on"], "晚于今天"),
        (step_body("home_check", TODAY), VILLAGE, ["body", "done_on"], "早于上一步"),
        ({"step": "home_check", "outcome": "reject"}, VILLAGE, ["body", "reason"], "原因"),
        ({"step": "home_check", "outcome": "perhaps"}, VILLAGE, ["body", "outcome"], None),
    ]
    for body, headers, loc, fragment in refused:
        r = await monitoring.post(url, json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["loc"] == loc, r.text
        if fragment:
            assert fragment in r.json()["detail"][0]["msg"]
    r = await monitoring.post(url, json=step_body("home_check", clock.today(), people=[],
                                                  data_query_authorised=None), headers=VILLAGE)
    assert [d["loc"][-1] for d in r.json()["detail"]] == ["people", "data_query_authorised"]
    assert (await monitoring.post(url, json=step_body("home_check", clock.today()),
                                  headers=OTHER_TOWNSHIP)).status_code == 403
    assert await state(monitoring) == before

    # The home check is late (4 days after the risk review): its overdue event, then met late.
    clock.set_today(TODAY + timedelta(days=5))
    assert await monitoring.app.state.scanner.scan() == 1
    assert "fangpin.monitoring.identification.step_overdue" in await queued_types(monitoring)
    r = await monitoring.post(url, json=step_body("home_check", clock.today()), headers=VILLAGE)
    step = r.json()["steps"][-1]
    assert step["late"] is True and step["due_on"] == (TODAY + timedelta(days=4)).isoformat()
    assert step["details"]["application_signed"] is True and step["actor_role"] == "village"
    r = await monitoring.post(url, json=step_body("data_comparison", clock.today(),
                                                  outcome="reject", reason="家庭有商品房两套"),
                              headers=COUNTY)
    assert r.json()["status"] == "rejected" and r.json()["rejected_reason"] == "家庭有商品房两套"
    assert await count(monitoring, Case.__table__) == 0
    assert (await monitoring.post(url, json=step_body("democratic_review", clock.today()),
                                  headers=VILLAGE)).json()["detail"][0]["msg"].startswith("识别程序已终止")


async def test_platform_inclusions_are_idempotent_and_checked_whole(monitoring):
    a = await new_household(monitoring, 1)
    b = await new_household(monitoring, 2)
    batch = {"inclusions": [
        {"household_id": a["id"], "inclusion_date": "2024-03-01", "category": "脱贫不稳定户",
         "risk_types": ["因病"]},
        {"household_id": b["id"], "inclusion_date": "2024-03-05", "category": "边缘易致贫户",
         "risk_types": ["因残"]}]}
    before = await state(monitoring)
    bad = [
        ({"inclusions": [batch["inclusions"][0], {**batch["inclusions"][1],
                                                   "household_id": "nope"}]},
         ["body", "inclusions", 1, "household_id"]),
        ({"inclusions": [batch["inclusions"][0], {**batch["inclusions"][1],
                                                   "inclusion_date": "2030-01-01"}]},
         ["body", "inclusions", 1, "inclusion_date"]),
        ({"inclusions": [batch["inclusions"][0], batch["inclusions"][0]]},
         ["body", "inclusions", 1, "household_id"]),
        ({"inclusions": [{"inclusion_date": "2024-03-01", "category": "边缘易致贫户",
                          "risk_types": ["因病"]}]}, ["body", "inclusions", 0, "household_id"]),
        ({"inclusions": []}, ["body", "inclusions"]),
    ]
    for body, loc in bad:
        r = await monitoring.post("/api/v1/identifications/platform-inclusions", json=body,
                                  headers=PLATFORM)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert await state(monitoring) == before
    assert (await monitoring.post("/api/v1/identifications/platform-inclusions", json=batch,
                                  headers=COUNTY)).status_code == 403
    first = await monitoring.post("/api/v1/identifications/platform-inclusions", json=batch,
                                  headers=PLATFORM)
    assert first.status_code == 200 and [x["created"] for x in first.json()] == [True, True]
    case = (await monitoring.get(f"/api/v1/cases/{first.json()[0]['case_id']}",
                                 headers=COUNTY)).json()
    assert case["inclusion_date"] == "2024-03-01"
    assert {d["kind"]: d["due_on"] for d in case["deadlines"]} == {
        "case.helper": "2024-03-06", "case.plan": "2024-03-11", "case.assessment": "2024-09-01"}
    after = await state(monitoring)
    again = await monitoring.post("/api/v1/identifications/platform-inclusions", json=batch,
                                  headers=PLATFORM)
    assert [x["created"] for x in again.json()] == [False, False]
    assert [x["case_id"] for x in again.json()] == [x["case_id"] for x in first.json()]
    assert await state(monitoring) == after
    moved = {"inclusions": [{**batch["inclusions"][0], "inclusion_date": "2024-03-02"}]}
    r = await monitoring.post("/api/v1/identifications/platform-inclusions", json=moved,
                              headers=PLATFORM)
    assert r.status_code == 422 and "2024-03-01" in r.json()["detail"][0]["msg"]


async def included_case(client, serial: int, labour="普通劳动力", members=None) -> dict:
    h = await new_household(client, serial, labour=labour, members=members)
    return await confirmed_case(client, h["id"], TODAY)


async def test_plans_follow_the_labour_rule_and_violations_are_listed(monitoring):
    able = await included_case(monitoring, 1)
    unable = await included_case(monitoring, 2, labour="无劳动力")
    weak = await included_case(monitoring, 3, labour="弱劳力")
    before = await state(monitoring)
    url = f"/api/v1/cases/{able['id']}/plan"
    safety = {"measure_type": "低保", "responsible_unit": "county.civil_affairs"}
    industry = {"measure_type": "产业帮扶", "responsible_unit": "county.agriculture"}
    bad = [
        ({"summary": "计划", "measures": [safety]}, ["body", "measures"], "开发式帮扶"),
        ({"summary": "计划", "measures": []}, ["body", "measures"], None),
        ({"summary": "计划", "measures": [{**industry, "responsible_unit": "county.nowhere"}]},
         ["body", "measures", 0, "responsible_unit"], "未知的责任单位"),
        ({"summary": "计划", "measures": [{**industry, "measure_type": "发钱"}]},
         ["body", "measures", 0, "measure_type"], None),
        ({"summary": "计划", "measures": [industry], "filed_on": "2024-04-01"},
         ["body", "filed_on"], "早于纳入日期"),
        ({"summary": "计划", "measures": [industry], "helper_id": "nobody"},
         ["body", "helper_id"], "帮扶责任人"),
        ({"summary": "计划", "measures": [{**industry, "status": "dreaming"}]},
         ["body", "measures", 0, "status"], None),
    ]
    for body, loc, fragment in bad:
        r = await monitoring.post(url, json=body, headers=TOWNSHIP)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
        if fragment:
            assert fragment in r.json()["detail"][0]["msg"]
    assert await state(monitoring) == before
    assert (await monitoring.post(url, json={"summary": "计划", "measures": [industry]},
                                  headers=OTHER_TOWNSHIP)).status_code == 403

    # The county file gives the plan to the township (and county), not the village.
    r = await monitoring.post(url, json={"summary": "发展养殖", "measures": [industry, safety]},
                              headers=VILLAGE)
    assert r.status_code == 403 and "村级不能办理" in r.json()["detail"]
    assert await state(monitoring) == before
    r = await monitoring.post(url, json={"summary": "发展养殖", "measures": [industry, safety]},
                              headers=TOWNSHIP)
    assert r.status_code == 201
    assert r.json()["measures"][0]["responsible_unit_name"] == "县农业农村局"
    assert (await monitoring.post(url, json={"summary": "再来", "measures": [industry]},
                                  headers=TOWNSHIP)).status_code == 409
    r = await monitoring.post(f"/api/v1/cases/{unable['id']}/plan", headers=TOWNSHIP,
                              json={"summary": "兜底", "measures": [industry]})
    assert r.status_code == 422 and "兜底保障" in r.json()["detail"][0]["msg"]
    r = await monitoring.post(f"/api/v1/cases/{unable['id']}/plan", headers=TOWNSHIP,
                              json={"summary": "兜底", "measures": [safety]})
    assert r.status_code == 201
    r = await monitoring.post(f"/api/v1/cases/{weak['id']}/plan", headers=TOWNSHIP,
                              json={"summary": "临时救助", "measures": [
                                  {"measure_type": "临时救助",
                                   "responsible_unit": "county.civil_affairs"}]})
    assert r.status_code == 201 and r.json()["labour"]["warnings"]  # a warning, not an error

    # Cancelling the industry measure breaks the rule: the township's list shows it.
    measure = (await monitoring.get(url, headers=VILLAGE)).json()["measures"][0]
    measure_id = measure["id"]
    assert measure["revision"] == 1
    r = await monitoring.patch(f"/api/v1/cases/{able['id']}/measures/{measure_id}",
                               headers=TOWNSHIP, json={"status": "cancelled",
                                                      "end_on": TODAY.isoformat()})
    assert r.status_code == 428  # based on which revision?
    r = await monitoring.patch(f"/api/v1/cases/{able['id']}/measures/{measure_id}",
                               headers=TOWNSHIP | {"If-Match": '"1"'},
                               json={"status": "cancelled", "end_on": TODAY.isoformat()})
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert r.headers["etag"] == '"2"'
    # Another clerk, from the copy read before: 412, the cancellation stays.
    r = await monitoring.patch(f"/api/v1/cases/{able['id']}/measures/{measure_id}",
                               headers=TOWNSHIP, json={"status": "in_progress", "revision": 1})
    assert r.status_code == 412 and "措施状态" in r.json()["detail"]["msg"]
    for body, loc in [({"status": None}, ["body", "status"]),
                      ({"end_on": "2024-01-01"}, ["body", "end_on"]),
                      ({"responsible_unit": "x.y"}, ["body", "responsible_unit"])]:
        r = await monitoring.patch(f"/api/v1/cases/{able['id']}/measures/{measure_id}",
                                   headers=TOWNSHIP, json=body | {"revision": 2})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    listed = (await monitoring.get("/api/v1/plans/labour-violations", headers=TOWNSHIP)).json()
    assert sorted((v["case_id"], v["severity"]) for v in listed) == sorted(
        [(able["id"], "error"), (weak["id"], "warning")])
    assert (await monitoring.get("/api/v1/plans/labour-violations",
                                 headers=OTHER_TOWNSHIP)).json() == []
    r = await monitoring.post(f"/api/v1/cases/{able['id']}/measures", headers=TOWNSHIP,
                              json={"measure_type": "小额信贷",
                                    "responsible_unit": "county.finance"})
    assert r.status_code == 201
    listed = (await monitoring.get("/api/v1/plans/labour-violations", headers=TOWNSHIP)).json()
    assert [v["case_id"] for v in listed] == [weak["id"]]
    types = await queued_types(monitoring)
    assert types.count("fangpin.monitoring.case.plan_filed") == 3
    assert types.count("fangpin.monitoring.case.measure_added") == 1


async def test_income_ledger_and_monthly_collection(monitoring):
    clock = monitoring.app.state.clock
    poor = await new_household(monitoring, 1)
    fine = await new_household(monitoring, 2)
    moved = await new_household(monitoring, 3, relocation_site=True)
    other = await new_household(monitoring, 4, township="长安镇", village="城东村")

    async def put(h, period, *items, headers=VILLAGE):
        return await monitoring.put(
            f"/api/v1/income/households/{h['id']}/months/{period}", headers=headers,
            json={"items": [{"source": s, "amount_yuan": a} for s, a in items]})

    assert (await put(poor, "2023-06", ("工资性收入", "1000"))).status_code == 200
    r = await put(poor, "2024-01", ("工资性收入", "600.50"), ("转移性收入", "100"),
                  ("生产经营性支出", "50.25"))
    assert r.json()["per_capita_yuan"] == "7803.00" and r.json()["net_yuan"] == "650.25"
    await put(fine, "2024-01", ("工资性收入", "3000"))
    await put(other, "2024-01", ("工资性收入", "100"), headers=COUNTY)
    before = await state(monitoring)
    for period, items, loc in [
        ("2024-13", [("工资性收入", "1")], ["path", "period"]),
        ("2024-05", [("工资性收入", "1")], ["path", "period"]),
        ("2024-02", [("工资性收入", "-1")], ["body", "items", 0, "amount_yuan"]),
        ("2024-02", [("工资性收入", "1.001")], ["body", "items", 0, "amount_yuan"]),
        ("2024-02", [("彩票", "1")], ["body", "items", 0, "source"]),
        ("2024-02", [("工资性收入", "1"), ("工资性收入", "2")], ["body", "items", 1, "source"]),
    ]:
        r = await put(poor, period, *items)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, (period, r.text)
    assert (await put(other, "2024-02", ("工资性收入", "1"))).status_code == 403
    assert await state(monitoring) == before

    ledger = (await monitoring.get("/api/v1/income/ledger?year=2024", headers=TOWNSHIP)).json()
    by_id = {row["household_id"]: row for row in ledger}
    assert set(by_id) == {poor["id"], moved["id"]}
    assert by_id[poor["id"]]["reasons"] == ["below_line", "fell"]
    assert by_id[poor["id"]]["previous_per_capita_yuan"] == "12000.00"
    assert by_id[moved["id"]]["reason_names"] == ["易地搬迁户"]
    county = (await monitoring.get("/api/v1/income/ledger?year=2024", headers=COUNTY)).json()
    assert other["id"] in {row["household_id"] for row in county}
    hrss = (await monitoring.get("/api/v1/income/ledger?year=2024",
                                 headers=department("county.hrss"))).json()
    assert hrss == county  # key-household lists reach the departments too

    # April's collection round: a deadline per ledger household, once however often opened.
    r = await monitoring.post("/api/v1/income/collection-rounds", headers=COUNTY,
                              json={"period": "2024-03"})
    assert r.status_code == 201 and r.json() == {"period": "2024-03", "opened": 3,
                                                 "already_open": 0, "due_on": "2024-04-11"}
    r = await monitoring.post("/api/v1/income/collection-rounds", headers=COUNTY,
                              json={"period": "2024-03"})
    assert r.json()["opened"] == 0 and r.json()["already_open"] == 3
    for body in ({"period": "2024-3"}, {"period": "2024-05"}):
        assert (await monitoring.post("/api/v1/income/collection-rounds", headers=COUNTY,
                                      json=body)).status_code == 422
    assert (await monitoring.post("/api/v1/income/collection-rounds", headers=TOWNSHIP,
                                  json={"period": "2024-03"})).status_code == 403
    await put(poor, "2024-03", ("工资性收入", "700"))
    clock.set_today(date(2024, 4, 12))
    assert await monitoring.app.state.scanner.scan() == 2  # moved and other: overdue
    types = await queued_types(monitoring)
    assert types.count("fangpin.monitoring.income.collection_overdue") == 2
    assert await count(monitoring, DEADLINES, DEADLINES.c.kind == "income.collection",
                       DEADLINES.c.state == "met") == 1


async def test_elimination_refuses_households_that_do_not_qualify(monitoring):
    clock = monitoring.app.state.clock
    unable = await included_case(monitoring, 1, members=[member(serial=1, labour="无劳动力")])
    url = f"/api/v1/cases/{unable['id']}"
    before = await state(monitoring)
    r = await monitoring.post(f"{url}/elimination", headers=TOWNSHIP, json={})
    assert r.status_code == 422
    assert [d["loc"] for d in r.json()["detail"]] == [
        ["conditions", "months"], ["conditions", "assessment"], ["conditions", "income"],
        ["conditions", "labour"]]
    r = await monitoring.post(f"{url}/assessments", headers=TOWNSHIP, json={
        "conclusion": "continue", "rigid_expenses_resolved": False,
        "food_clothing_secure": True, "compulsory_education_secure": True,
        "basic_medical_secure": True, "housing_secure": True, "drinking_water_secure": True})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "assessed_on"]
    r = await monitoring.post(f"{url}/assessments", headers=TOWNSHIP, json={"conclusion": "x"})
    assert r.status_code == 422
    assert await state(monitoring) == before

    clock.set_today(date(2024, 10, 10))
    for period in ("2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09"):
        await monitoring.put(f"/api/v1/income/households/{unable['household_id']}/months/"
                             f"{period}", headers=VILLAGE,
                             json={"items": [{"source": "转移性收入", "amount_yuan": "1500"}]})
    r = await monitoring.post(f"{url}/assessments", headers=TOWNSHIP, json={
        "conclusion": "propose_elimination", "rigid_expenses_resolved": False,
        "food_clothing_secure": True, "compulsory_education_secure": True,
        "basic_medical_secure": True, "housing_secure": False, "drinking_water_secure": True})
    assert r.status_code == 201
    r = await monitoring.post(f"{url}/elimination", headers=TOWNSHIP, json={})
    assert r.status_code == 422
    detail = {d["loc"][1]: d["msg"] for d in r.json()["detail"]}
    assert set(detail) == {"rigid_expenses", "guarantees", "labour"}
    assert "住房安全" in detail["guarantees"] and "继续监测" in detail["labour"]
    assert (await monitoring.get(f"{url}", headers=COUNTY)).json()["status"] == "open"


async def test_elimination_steps_are_checked_and_can_end_in_rejection(monitoring):
    clock = monitoring.app.state.clock
    case = await included_case(monitoring, 1)
    url = f"/api/v1/cases/{case['id']}"
    clock.set_today(date(2024, 10, 10))
    for period in ("2024-04", "2024-05", "2024-06", "2024-07", "2024-08", "2024-09"):
        await monitoring.put(f"/api/v1/income/households/{case['household_id']}/months/"
                             f"{period}", headers=VILLAGE,
                             json={"items": [{"source": "工资性收入", "amount_yuan": "1500"}]})
    await monitoring.post(f"{url}/assessments", headers=TOWNSHIP, json={
        "conclusion": "propose_elimination", "rigid_expenses_resolved": True,
        "food_clothing_secure": True, "compulsory_education_secure": True,
        "basic_medical_secure": True, "housing_secure": True, "drinking_water_secure": True})
    assert (await monitoring.post(f"{url}/elimination", headers=TOWNSHIP,
                                  json={})).status_code == 201
    assert (await monitoring.post(f"{url}/elimination", headers=TOWNSHIP,
                                  json={})).status_code == 409
    steps = f"{url}/elimination/steps"
    before = await state(monitoring)
    for body, headers, loc in [
        ({"step": "home_verification", "people": ["一人"]}, VILLAGE, ["body", "people"]),
        ({"step": "village_review", "votes_for": 3}, VILLAGE, ["body", "step"]),
        ({"step": "home_verification", "people": ["a", "b"], "done_on": "2024-10-09"}, VILLAGE,
         ["body", "done_on"]),
        ({"step": "teleport"}, VILLAGE, ["body", "step"]),
    ]:
        r = await monitoring.post(steps, json=body, headers=headers)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    assert await state(monitoring) == before
    await monitoring.post(steps, json={"step": "home_verification", "people": ["a", "b"]},
                          headers=VILLAGE)
    await monitoring.post(steps, json={"step": "village_review", "votes_for": 9},
                          headers=VILLAGE)
    clock.set_today(date(2024, 10, 16))
    for body, loc in [
        ({"step": "public_notice", "notice_start": "2024-10-11", "notice_end": "2024-10-16"},
         ["body", "notice_end"]),
        ({"step": "public_notice", "notice_start": "2024-10-10", "notice_end": "2024-10-16",
          "objections": [{"content": "他家有车"}]}, ["body", "objections", 0, "resolution"]),
    ]:
        r = await monitoring.post(steps, json=body, headers=VILLAGE)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    r = await monitoring.post(steps, headers=VILLAGE, json={
        "step": "public_notice", "notice_start": "2024-10-10", "notice_end": "2024-10-16",
        "objections": [{"content": "他家有车", "resolution": "车辆为借用，已核实"}]})
    assert r.status_code == 200, r.text
    r = await monitoring.post(steps, headers=TOWNSHIP, json={
        "step": "township_review", "outcome": "reject", "reason": "务工收入尚不稳定，继续监测"})
    assert r.json()["status"] == "rejected" and r.json()["next_step"] is None
    assert (await monitoring.get(url, headers=COUNTY)).json()["status"] == "open"
    # A rejected procedure can be started again later.
    assert (await monitoring.post(f"{url}/elimination", headers=TOWNSHIP,
                                  json={})).status_code == 201


async def test_no_quota_of_eliminations_anywhere(monitoring):
    """M9: no quota of eliminations may be set, and nothing ranks by one."""
    schema = (await monitoring.get("/openapi.json")).json()
    names = set()
    for path, operations in schema["paths"].items():
        names.update(path.strip("/").split("/"))
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []))
    for component in schema["components"]["schemas"].values():
        names.update(component.get("properties", {}))
    words = ("quota", "rank", "target", "ratio", "比例", "指标")
    # Coverage rates (visits) are fine; an elimination rate is what M9 forbids.
    assert not [n for n in names if any(w in n.lower() for w in words)
                or ("elimin" in n.lower() and "rate" in n.lower())]
    county = load_county(COUNTY_CONFIG)
    assert not [k for k in county.settings if any(w in k.lower() for w in words)]
    assert not [k for k in county.deadlines if "elimination" in k]


async def test_clues_from_visits_follow_the_same_lifecycle(monitoring):
    h = await new_household(monitoring, 1)
    other = await new_household(monitoring, 2, township="长安镇", village="城东村")
    good = {"household_id": h["id"], "source": "入户走访", "risk_type": "因病",
            "reason": "户主突发脑梗住院"}
    before = await state(monitoring)
    for body, headers, status, loc in [
        ({**good, "household_id": "nope"}, VILLAGE, 422, ["body", "household_id"]),
        ({**good, "member_id": "nobody"}, VILLAGE, 422, ["body", "member_id"]),
        ({**good, "source": "听说"}, VILLAGE, 422, ["body", "source"]),
        ({**good, "reason": "x"}, VILLAGE, 422, ["body", "reason"]),
        ({**good, "household_id": other["id"]}, VILLAGE, 403, None),
        (good, department("county.health"), 403, None),
    ]:
        r = await monitoring.post("/api/v1/warnings", json=body, headers=headers)
        assert r.status_code == status, r.text
        if loc:
            assert r.json()["detail"][0]["loc"] == loc
    assert await state(monitoring) == before
    r = await monitoring.post("/api/v1/warnings", json=good, headers=VILLAGE)
    assert r.status_code == 201 and r.json()["kind_name"] == "风险线索", r.text
    assert r.json()["reason"] == "入户走访：户主突发脑梗住院"
    assert (await monitoring.post("/api/v1/warnings", json=good,
                                  headers=VILLAGE)).status_code == 409
    r = await monitoring.post(f"/api/v1/warnings/{r.json()['id']}/verification", headers=TOWNSHIP,
                              json={"decision": "include", "category": "突发严重困难户"})
    ident = (await monitoring.get(f"/api/v1/identifications/{r.json()['identification_id']}",
                                  headers=VILLAGE)).json()
    assert ident["source"] == "入户走访" and ident["risk_types"] == ["因病"]
    assert ident["next_step_name"] == "村级风险研判"
    listed = (await monitoring.get("/api/v1/identifications?status=in_progress",
                                   headers=TOWNSHIP)).json()
    assert [i["id"] for i in listed] == [ident["id"]]
    # A household already monitored is not identified twice: the township dismisses instead.
    await confirmed_case(monitoring, other["id"], TODAY)
    clue = await monitoring.post("/api/v1/warnings", headers=COUNTY,
                                 json={**good, "household_id": other["id"]})
    r = await monitoring.post(f"/api/v1/warnings/{clue.json()['id']}/verification",
                              headers=COUNTY, json={"decision": "include",
                                                    "category": "边缘易致贫户"})
    assert r.status_code == 409 and "已是监测对象" in r.json()["detail"]
    assert (await monitoring.get("/api/v1/identifications", headers=OTHER_TOWNSHIP)).json() == []


async def test_measures_and_rounds_refuse_bad_input_without_change(monitoring):
    case = await included_case(monitoring, 1)
    url = f"/api/v1/cases/{case['id']}/measures"
    industry = {"measure_type": "产业帮扶", "responsible_unit": "county.agriculture"}
    assert (await monitoring.post(url, json=industry, headers=TOWNSHIP)).status_code == 409
    await monitoring.post(f"/api/v1/cases/{case['id']}/plan", headers=TOWNSHIP,
                          json={"summary": "养鸡", "measures": [industry]})
    before = await state(monitoring)
    for body, loc in [({**industry, "responsible_unit": "county.moon"},
                       ["body", "responsible_unit"]),
                      ({**industry, "start_on": "2030-01-01"}, ["body", "start_on"]),
                      ({**industry, "amount_fen": -5}, ["body", "amount_fen"]),
                      ({"responsible_unit": "county.agriculture"}, ["body", "measure_type"])]:
        r = await monitoring.post(url, json=body, headers=TOWNSHIP)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == loc, r.text
    for body in ({"period": "2024-00"}, {"period": "2025-01"}, {}):
        r = await monitoring.post("/api/v1/income/collection-rounds", json=body, headers=COUNTY)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "period"]
    r = await monitoring.put(f"/api/v1/income/households/{case['household_id']}/months/2024-01",
                             headers=VILLAGE, json={"items": []})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "items"]
    assert await state(monitoring) == before
