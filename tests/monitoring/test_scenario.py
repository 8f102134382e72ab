"""One household's whole life, with every event read back from JetStream in order.

department warning → township verification → identification steps → case → helper (late:
due-soon, then overdue) → plan → measures → income → 6-month assessment due → elimination
refused (the reason) → elimination approved → the risk returns → a new case linked to the old.
The clock is moved by hand; the deadline scanner is run when the test says so.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import nats
import pytest

from fangpin_common.clock import SettableClock
from fangpin_common.events import parse_event
from fangpin_common.testing import running, settings_for
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

from .conftest import household, member
from .support import (
    COUNTY,
    TOWNSHIP,
    VILLAGE,
    csv_bytes,
    department,
    person_id,
    upload,
    walk_identification,
)

P = "fangpin.monitoring."
START = date(2024, 4, 10)


class Stream:
    """An ephemeral ordered consumer of FANGPIN_MONITORING: what the relay really published."""

    def __init__(self, sub) -> None:
        self.sub = sub
        self.seen: list = []

    async def expect(self, *types: str) -> list:
        """The next events are exactly these, in this order."""
        got = []
        for _ in types:
            msg = await self.sub.next_msg(timeout=20)
            got.append(parse_event(msg.data))
        self.seen.extend(got)
        assert [e.type for e in got] == [P + t for t in types]
        return got

    async def nothing_more(self) -> None:
        with pytest.raises(nats.errors.TimeoutError):
            await self.sub.next_msg(timeout=0.5)


async def scan(client, clock, day: date) -> int:
    clock.set_today(day)
    r = await client.post("/admin/deadlines/scan", headers=COUNTY)
    assert r.status_code == 200, r.text
    return r.json()["emitted"]


async def test_a_household_from_warning_to_elimination_and_back(database, private_nats):
    clock = SettableClock()
    clock.set_today(START)
    app = create_app(settings_for(MonitoringSettings, database, private_nats.url), clock)
    async with running(app) as client:
        nc = await nats.connect(private_nats.url)
        try:
            sub = await nc.jetstream().subscribe(P + ">", stream="FANGPIN_MONITORING",
                                                 ordered_consumer=True)
            await life(client, clock, Stream(sub))
        finally:
            await nc.close()


async def life(client, clock: SettableClock, events: Stream) -> None:
    # A 脱贫户 of two: the father works, the son is at school.
    body = household(members=[
        member(name="韦明", serial=1),
        member(name="韦小明", serial=2, born=date(2010, 5, 1), relation="之子", labour="无劳动力",
               in_school=True)])
    r = await client.post("/api/v1/households", json=body, headers=COUNTY)
    assert r.status_code == 201, r.text
    household_id = r.json()["id"]
    await events.expect("household.upserted")

    # 1. Education's monthly file: the son dropped out.
    r = await upload(client, "education.dropout",
                     csv_bytes(["身份证号", "姓名", "学校", "辍学日期"],
                               [[person_id(2, date(2010, 5, 1)), "韦小明", "融安二中",
                                 "2024-03-20"]]),
                     headers=department("county.education"))
    assert r.status_code == 201 and r.json()["warnings_raised"] == 1, r.text
    [raised] = await events.expect("warning.raised")
    assert raised.data.household_id == household_id and raised.data.risk_type == "因学"
    assert raised.data.verify_due_on == START + timedelta(days=7)
    warning_id = raised.data.warning_id

    # 2. The township verifies within its days: include.
    clock.set_today(START + timedelta(days=1))
    r = await client.post(f"/api/v1/warnings/{warning_id}/verification", headers=TOWNSHIP,
                          json={"decision": "include", "category": "边缘易致贫户",
                                "reason": "入户核实，孩子辍学在家"})
    assert r.status_code == 200, r.text
    ident_id = r.json()["identification_id"]
    started, verified = await events.expect("identification.started", "warning.verified")
    assert started.data.warning_id == warning_id and started.data.risk_types == ["因学"]
    assert verified.data.decision == "include" and not verified.data.late

    # 3. Identification, step by step in order, each on time.
    async def one_step(step: str) -> None:
        if step == "county_confirmation":
            return
        [recorded] = await events.expect("identification.step_recorded")
        assert recorded.data.step == step and recorded.data.outcome == "pass"
        assert not recorded.data.late

    final, inclusion = await walk_identification(client, clock, ident_id, clock.today(),
                                                 after_each=one_step)
    assert final["status"] == "confirmed" and len(final["steps"]) == 6
    assert all(d["state"] == "met" for d in final["deadlines"])
    opened, upserted, recorded = await events.expect(
        "case.opened", "household.upserted", "identification.step_recorded")
    assert recorded.data.step == "county_confirmation" and recorded.data.case_id
    case_id = opened.data.case_id
    assert opened.data.inclusion_date == inclusion and opened.data.previous_case_id is None
    assert upserted.data.category == "监测户"

    # 4. No helper in five days: due soon on day 4, overdue on day 6; assigned late.
    assert await scan(client, clock, inclusion + timedelta(days=4)) == 1
    [soon] = await events.expect("case.helper_due_soon")
    assert soon.data.subject_id == case_id
    assert await scan(client, clock, inclusion + timedelta(days=6)) == 1
    [overdue] = await events.expect("case.helper_overdue")
    assert overdue.data.days_overdue == 1 and overdue.data.due_on == inclusion + timedelta(days=5)
    r = await client.post(f"/api/v1/cases/{case_id}/helpers", headers=TOWNSHIP,
                          json={"name": "黄帮扶", "unit": "county.agriculture"})
    assert r.status_code == 201, r.text
    helper_id = r.json()["id"]
    [assigned] = await events.expect("case.helper_assigned")
    assert assigned.data.late is True

    # 5. The plan on day 7 (within 10): a developmental measure, as the father can work.
    clock.set_today(inclusion + timedelta(days=7))
    r = await client.post(f"/api/v1/cases/{case_id}/plan", headers=TOWNSHIP, json={
        "summary": "劝返复学，发展金桔种植", "helper_id": helper_id, "measures": [
            {"measure_type": "教育资助", "responsible_unit": "county.education"},
            {"measure_type": "产业帮扶", "responsible_unit": "county.agriculture",
             "status": "in_progress"}]})
    assert r.status_code == 201, r.text
    assert r.json()["labour"] == {"level": "full", "level_name": "有劳动能力", "errors": [],
                                  "warnings": []}
    [filed] = await events.expect("case.plan_filed")
    assert filed.data.late is False and filed.data.developmental == 1
    clock.set_today(inclusion + timedelta(days=8))
    r = await client.post(f"/api/v1/cases/{case_id}/measures", headers=TOWNSHIP, json={
        "measure_type": "技能培训", "responsible_unit": "county.hrss"})
    assert r.status_code == 201, r.text
    [added] = await events.expect("case.measure_added")
    assert added.data.measure_kind == "developmental"
    assert added.data.responsible_unit == "county.hrss"
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=COUNTY)).json()
    assert {d["kind"]: d["state"] for d in case["deadlines"]} == {
        "case.helper": "met", "case.plan": "met", "case.assessment": "open"}

    # 6. Six months on: the assessment falls due (from the ledger).
    half_year = date(inclusion.year, inclusion.month + 6, inclusion.day)
    assert await scan(client, clock, half_year - timedelta(days=1)) == 0
    assert await scan(client, clock, half_year) == 1
    [due] = await events.expect("case.assessment_due")
    assert due.data.subject_id == case_id and due.data.due_on == half_year

    # Income collected month by month (two people; 2,800 yuan net a month), but not September.
    month = {"items": [{"source": "工资性收入", "amount_yuan": "2500"},
                       {"source": "生产经营性收入", "amount_yuan": "500.00"},
                       {"source": "生产经营性支出", "amount_yuan": "200"}]}
    for period in ("2024-04", "2024-05", "2024-06", "2024-07", "2024-08"):
        r = await client.put(f"/api/v1/income/households/{household_id}/months/{period}",
                             headers=VILLAGE, json=month)
        assert r.status_code == 200, r.text
    assert r.json()["per_capita_yuan"] == "16800.00"

    r = await client.post(f"/api/v1/cases/{case_id}/assessments", headers=TOWNSHIP, json={
        "conclusion": "propose_elimination", "rigid_expenses_resolved": True,
        "food_clothing_secure": True, "compulsory_education_secure": True,
        "basic_medical_secure": True, "housing_secure": True, "drinking_water_secure": True})
    assert r.status_code == 201, r.text
    [assessed] = await events.expect("case.assessed")
    assert assessed.data.late is False

    # 7. Elimination is refused: September's income was never collected.
    r = await client.post(f"/api/v1/cases/{case_id}/elimination", headers=TOWNSHIP, json={})
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["conditions", "income"]
    assert "缺 2024-09" in problem["msg"] and "无法认定收入稳定" in problem["msg"]

    r = await client.put(f"/api/v1/income/households/{household_id}/months/2024-09",
                         headers=VILLAGE, json=month)
    assert r.status_code == 200
    r = await client.post(f"/api/v1/cases/{case_id}/elimination", headers=TOWNSHIP, json={})
    assert r.status_code == 201, r.text
    assert r.json()["next_step"] == "home_verification"

    # 8. The elimination procedure; October's income arrives before the county decides.
    steps = [
        ("home_verification", VILLAGE, 1, {"people": ["韦核实", "黄核实"]}),
        ("village_review", VILLAGE, 2, {"votes_for": 12, "votes_against": 0}),
        ("public_notice", VILLAGE, 9, {
            "notice_start": (half_year + timedelta(days=3)).isoformat(),
            "notice_end": (half_year + timedelta(days=9)).isoformat(),
            "objections": [{"content": "收入是否属实", "resolution": "核实工资流水，属实"}]}),
        ("township_review", TOWNSHIP, 10, {}),
        ("county_approval", COUNTY, 11, {}),
    ]
    for step, headers, offset, extra in steps:
        day = half_year + timedelta(days=offset)
        clock.set_today(day)
        if step == "county_approval":
            r = await client.put(f"/api/v1/income/households/{household_id}/months/2024-10",
                                 headers=VILLAGE, json=month)
            assert r.status_code == 200
        r = await client.post(f"/api/v1/cases/{case_id}/elimination/steps", headers=headers,
                              json={"step": step, **extra})
        assert r.status_code == 200, r.text
        if step != "county_approval":
            [recorded] = await events.expect("case.elimination_step_recorded")
            assert recorded.data.step == step
    recorded, eliminated = await events.expect("case.elimination_step_recorded",
                                               "case.risk_eliminated")
    assert eliminated.data.eliminated_on == half_year + timedelta(days=11)
    assert eliminated.data.months_monitored == 6
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=COUNTY)).json()
    assert case["status"] == "eliminated"
    assert (await client.get(f"/api/v1/households/{household_id}",
                             headers=COUNTY)).status_code == 200  # the record stays

    # 9. In the new year the father falls seriously ill: the risk returns.
    again = date(2025, 1, 10)
    clock.set_today(again)
    r = await upload(client, "health.serious_illness",
                     csv_bytes(["身份证号", "姓名", "病种"], [[person_id(1), "韦明", "尿毒症"]]),
                     period="2024-12", headers=department("county.health"))
    assert r.status_code == 201 and r.json()["warnings_raised"] == 1, r.text
    [raised] = await events.expect("warning.raised")
    r = await client.post(f"/api/v1/warnings/{raised.data.warning_id}/verification",
                          headers=TOWNSHIP, json={"decision": "include",
                                                  "category": "突发严重困难户"})
    assert r.status_code == 200, r.text
    ident_id = r.json()["identification_id"]
    await events.expect("identification.started", "warning.verified")
    final, second_inclusion = await walk_identification(
        client, clock, ident_id, again,
        after_each=lambda step: events.expect("identification.step_recorded")
        if step != "county_confirmation" else asyncio.sleep(0))
    reopened, upserted, _ = await events.expect(
        "case.opened", "household.upserted", "identification.step_recorded")
    assert reopened.data.previous_case_id == case_id
    assert reopened.data.case_id == final["case_id"] != case_id
    assert reopened.data.risk_types == ["因病"]
    assert upserted.data.monitoring_subcategory == "突发严重困难户"
    cases = (await client.get("/api/v1/cases", headers=COUNTY)).json()
    assert sorted((c["status"], c["previous_case_id"]) for c in cases) == [
        ("eliminated", None), ("open", case_id)]
    await events.nothing_more()
    assert len(events.seen) == 36
