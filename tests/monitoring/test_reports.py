"""The monitoring report (M13): every figure of a small county whose facts are known."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import load_workbook

from fangpin_common.testing import auth, confirmed_case, token_for
from fangpin_monitoring.reports import rules

from .households_kit import COUNTY, person, quiet_app, start

BANLAN, CHANGAN = "450224103", "450224100"
NEW_VILLAGE = "新村"
DEPARTMENT = auth(token_for("department", department="county.civil_affairs"))
BANLAN_TOWNSHIP = auth(token_for("township", "板榄镇"))
CHANGAN_TOWNSHIP = auth(token_for("township", "长安镇"))
NEW_VILLAGE_TOKEN = auth(token_for("village", "板榄镇", village=NEW_VILLAGE))
PLATFORM = auth(token_for("platform"))
URL = "/api/v1/reports/monitoring"


@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock))
    yield client
    await context.__aexit__(None, None, None)


async def ok(response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


async def build_county(client) -> dict[str, str]:
    """Six households in three villages of two townships, and what happened to them in March
    2024 (and early April). The report is read on 2024-04-10."""
    clock = client.app.state.clock

    async def on(day: str) -> None:
        clock.set_today(date.fromisoformat(day))

    async def household(serial: int, township: str, village: str) -> str:
        return (await ok(await client.post("/api/v1/households", headers=COUNTY, json={
            "township": township, "village": village, "category": "脱贫户", "members": [
                {"name": f"户主{serial}", "relation": "户主", "labour_capacity": "普通劳动力",
                 **person(serial)}]})))["id"]

    async def area(township: str, village: str, households: list[str]) -> None:
        await ok(await client.post("/api/v1/grid-areas", headers=COUNTY, json={
            "township": township, "village": village, "name": f"{village}网格",
            "worker_name": "网格员", "household_ids": households}))

    async def visit(household_id: str) -> None:
        await ok(await client.post("/api/v1/visits", headers=COUNTY, json={
            "household_id": household_id, "visited_on": clock.today().isoformat(),
            "visitor_name": "网格员", "leaflet_explained": True, "risk_found": False}))

    async def case(household_id: str, inclusion: str) -> str:
        return (await confirmed_case(client, household_id, inclusion))["id"]

    async def helper(case_id: str) -> None:
        await ok(await client.post(f"/api/v1/cases/{case_id}/helpers", headers=COUNTY,
                                   json={"name": "帮扶人"}))

    async def plan(case_id: str) -> None:
        await ok(await client.post(f"/api/v1/cases/{case_id}/plan", headers=COUNTY, json={
            "summary": "发展金桔种植", "measures": [
                {"measure_type": "产业帮扶", "responsible_unit": "county.agriculture"}]}))

    async def clue(household_id: str) -> str:
        return (await ok(await client.post("/api/v1/warnings", headers=COUNTY, json={
            "household_id": household_id, "source": "入户走访", "risk_type": "因病",
            "reason": "家中有人患病住院"})))["id"]

    async def verify(warning_id: str, decision: str) -> None:
        body = {"decision": decision, "reason": "经核实家庭收入稳定"} if decision == "dismiss" \
            else {"decision": decision, "category": "突发严重困难户"}
        await ok(await client.post(f"/api/v1/warnings/{warning_id}/verification",
                                   headers=COUNTY, json=body), 200)

    await on("2024-03-01")
    a1, a2, a3 = [await household(i, "板榄镇", "板榄村") for i in (1, 2, 3)]
    a4 = await household(4, "板榄镇", NEW_VILLAGE)
    b1, b2 = [await household(i, "长安镇", "城东村") for i in (5, 6)]
    # Joining a grid area opens March's visit and the Q1 full visit, both due 31 March.
    await area("板榄镇", "板榄村", [a1, a2, a3])
    await area("板榄镇", NEW_VILLAGE, [a4])
    await area("长安镇", "城东村", [b1, b2])
    # 板榄镇 answers as a whole for its households' campaign checklists: due 03-25, not done.
    await ok(await client.post("/api/v1/campaigns", headers=COUNTY, json={
        "name": "一季度包抓包核包过", "start_on": "2024-03-01", "due_on": "2024-03-25",
        "townships": ["板榄镇"]}))
    c2 = await case(a1, "2024-03-01")  # helper due 03-06, plan due 03-11
    c4 = await case(b2, "2023-09-20")  # assessment due 2024-03-20
    c5 = await case(a4, "2023-09-01")  # assessment due 2024-03-01
    await helper(c4)
    await plan(c4)
    await on("2024-03-02")
    c3 = await case(a3, "2024-03-02")  # helper due 03-07, plan due 03-12
    await on("2024-03-03")
    await helper(c3)
    await on("2024-03-04")  # clues, verification due 03-11
    w1, w2, w3 = await clue(a1), await clue(a2), await clue(b1)
    await clue(a4)  # never verified
    await on("2024-03-05")
    await visit(a1)
    c1 = await case(b1, "2024-03-05")  # helper due 03-10, plan due 03-15: neither comes
    await on("2024-03-06")
    await verify(w1, "dismiss")  # 2 days
    await on("2024-03-08")
    await helper(c2)  # late
    await on("2024-03-09")
    await verify(w3, "dismiss")  # 5 days
    await on("2024-03-10")
    await visit(b1)
    await plan(c3)
    await on("2024-03-15")
    await verify(w2, "include")  # 11 days, late; identification starts, risk review due 03-18
    await on("2024-03-20")
    await visit(a2)
    await on("2024-04-01")
    for month in ("2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03"):
        await ok(await client.put(f"/api/v1/income/households/{a4}/months/{month}",
                                  headers=COUNTY, json={"items": [
                                      {"source": "工资性收入", "amount_yuan": "1500"}]}), 200)
    await ok(await client.post(f"/api/v1/cases/{c5}/assessments", headers=COUNTY, json={
        "conclusion": "propose_elimination", "rigid_expenses_resolved": True,
        "food_clothing_secure": True, "compulsory_education_secure": True,
        "basic_medical_secure": True, "housing_secure": True, "drinking_water_secure": True}))
    await on("2024-04-02")
    await visit(a3)  # meets the Q1 full visit late; March's monthly visit stays missed
    await on("2024-04-08")
    await clue(b2)  # April's: verification due 04-15
    await on("2024-04-10")
    await ok(await client.post(f"/api/v1/cases/{c5}/elimination", headers=COUNTY, json={}))
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5}


def deadlines(**kinds: tuple[int, int, int, int]) -> list[dict]:
    names = {"visit_monthly": ("visit.monthly", "月度走访"), "visit_q1": ("visit.q1", "一季度遍访"),
             "verification": ("warning.verification", "预警核实"),
             "helper": ("case.helper", "落实帮扶责任人"), "plan": ("case.plan", "制定帮扶计划"),
             "assessment": ("case.assessment", "风险评估"),
             "campaign": ("campaign.verification", "包抓包核包过核实"),
             "risk_review": ("identification.risk_review", "识别纳入·村级风险研判")}
    return [{"kind": names[k][0], "kind_name": names[k][1], "met_on_time": v[0],
             "met_late": v[1], "open_overdue": v[2], "open_not_due": v[3]}
            for k, v in kinds.items()]


def figures(visits, warnings, days, identifications, stages) -> dict:
    """visits (due, done); warnings (raised, included, dismissed, pending, overdue);
    days (avg, median, max); stages (elimination, helper, plan, assessment, assisted)."""
    due, done = visits
    raised, included, dismissed, pending, overdue = warnings
    return {
        "visits_due": due, "visits_done": done,
        "visit_coverage": round(done / due, 4) if due else None,
        "warnings_raised": raised, "warnings_verified": included + dismissed,
        "warnings_included": included, "warnings_dismissed": dismissed,
        "warnings_pending": pending, "warnings_overdue": overdue,
        "verification_days_avg": days[0], "verification_days_median": days[1],
        "verification_days_max": days[2],
        "identifications_in_progress": identifications, "cases_open": sum(stages),
        **dict(zip(["cases_elimination_in_progress", "cases_awaiting_helper",
                    "cases_awaiting_plan", "cases_assessment_due", "cases_assisted"], stages,
                   strict=True)),
        "anomalies_open": 0, "anomalies_explained": 0,
    }


# March 2024 as read on 2024-04-10, row by row.
CHENGDONG = {"level": "village", "township": CHANGAN, "township_name": "长安镇",
             "village": "城东村", **figures(
                 (2, 1), (1, 0, 1, 0, 0), (5.0, 5.0, 5), 0, (0, 1, 0, 1, 0)),
             "deadlines": deadlines(visit_monthly=(1, 0, 1, 0), visit_q1=(1, 0, 1, 0),
                                    verification=(1, 0, 0, 0), helper=(0, 0, 1, 0),
                                    plan=(0, 0, 1, 0), assessment=(0, 0, 1, 0))}
XINCUN = {"level": "village", "township": BANLAN, "township_name": "板榄镇",
          "village": NEW_VILLAGE, **figures(
              (1, 0), (1, 0, 0, 1, 1), (None, None, None), 0, (1, 0, 0, 0, 0)),
          "deadlines": deadlines(visit_monthly=(0, 0, 1, 0), visit_q1=(0, 0, 1, 0),
                                 verification=(0, 0, 1, 0), assessment=(0, 1, 0, 0))}
BANLANCUN = {"level": "village", "township": BANLAN, "township_name": "板榄镇",
             "village": "板榄村", **figures(
                 (3, 2), (2, 1, 1, 0, 0), (6.5, 6.5, 11), 1, (0, 0, 1, 0, 1)),
             "deadlines": deadlines(visit_monthly=(2, 0, 1, 0), visit_q1=(2, 1, 0, 0),
                                    verification=(1, 1, 0, 0), helper=(1, 1, 0, 0),
                                    plan=(1, 0, 1, 0), risk_review=(0, 0, 1, 0))}
CHANGAN_ROW = {**CHENGDONG, "level": "township", "village": None}
BANLAN_ROW = {"level": "township", "township": BANLAN, "township_name": "板榄镇",
              "village": None, **figures(
                  (4, 2), (3, 1, 1, 1, 1), (6.5, 6.5, 11), 1, (1, 0, 1, 0, 1)),
              "deadlines": deadlines(visit_monthly=(2, 0, 2, 0), visit_q1=(2, 1, 1, 0),
                                     verification=(1, 1, 1, 0), helper=(1, 1, 0, 0),
                                     plan=(1, 0, 1, 0), assessment=(0, 1, 0, 0),
                                     campaign=(0, 0, 1, 0), risk_review=(0, 0, 1, 0))}
# The county's median of 2, 5 and 11 days is 5; its average 6.0.
TOTAL = {"level": "county", "township": None, "township_name": None, "village": None,
         **figures((6, 3), (4, 1, 2, 1, 1), (6.0, 5.0, 11), 1, (1, 1, 1, 1, 1)),
         "deadlines": deadlines(visit_monthly=(3, 0, 3, 0), visit_q1=(3, 1, 2, 0),
                                verification=(2, 1, 1, 0), helper=(1, 1, 1, 0),
                                plan=(1, 0, 2, 0), assessment=(0, 1, 1, 0),
                                campaign=(0, 0, 1, 0), risk_review=(0, 0, 1, 0))}


async def anomalies_by_place(client) -> dict[tuple, dict[str, int]]:
    """A data-quality run's items per village (the quality list, read on its own), one item
    explained first; township and county rows carry the sums."""
    await ok(await client.post("/api/v1/quality/runs", headers=COUNTY, json={}))
    items = (await ok(await client.get("/api/v1/quality/anomalies", headers=COUNTY,
                                       params={"page_size": 1000}), 200))["items"]
    assert items, "the small county has data-quality items to count"
    await ok(await client.post(f"/api/v1/quality/anomalies/{items[0]['id']}/explain",
                               headers=COUNTY, json={"reason": "已核实，情况属实无需整改"}), 200)
    items = (await ok(await client.get("/api/v1/quality/anomalies", headers=COUNTY,
                                       params={"page_size": 1000}), 200))["items"]
    counts: dict[tuple, dict[str, int]] = {}
    for item in items:
        field = {"open": "anomalies_open", "explained": "anomalies_explained"}.get(item["status"])
        for place in ((item["township"], item["village"]), (item["township"], None), (None, None)):
            place_counts = counts.setdefault(place, {"anomalies_open": 0,
                                                     "anomalies_explained": 0})
            if field:
                place_counts[field] += 1
    assert counts[None, None]["anomalies_explained"] == 1
    return counts


def with_anomalies(row: dict, counts: dict[tuple, dict[str, int]]) -> dict:
    return {**row, **counts.get((row["township"], row["village"]),
                                {"anomalies_open": 0, "anomalies_explained": 0})}


async def test_every_figure_of_the_month_in_json_and_xlsx(app):
    await build_county(app)
    anomalies = await anomalies_by_place(app)
    changan, chengdong, banlan, xincun, banlancun, total = (
        with_anomalies(r, anomalies)
        for r in (CHANGAN_ROW, CHENGDONG, BANLAN_ROW, XINCUN, BANLANCUN, TOTAL))
    report = await ok(await app.get(URL, params={"period": "2024-03"}, headers=COUNTY), 200)
    assert (report["period"], report["period_from"], report["period_to"], report["as_of"]) == (
        "2024-03", "2024-03-01", "2024-03-31", "2024-04-10")
    # 长安镇 (450224100) before 板榄镇 (450224103); each township's row above its villages.
    assert report["rows"] == [changan, chengdong, banlan, xincun, banlancun]
    assert report["total"] == total
    # The visits package counts the same month the same way.
    coverage = await ok(await app.get("/api/v1/visits/coverage", params={"period": "2024-03"},
                                      headers=COUNTY), 200)
    assert (coverage["total"]["due"], coverage["total"]["visited"]) == (
        total["visits_due"], total["visits_done"])

    for response in (await app.get(URL, params={"period": "2024-03", "format": "xlsx"},
                                   headers=COUNTY),
                     await app.get(f"{URL}.xlsx", params={"period": "2024-03"}, headers=COUNTY)):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
        book = load_workbook(io.BytesIO(response.content))
        assert book.sheetnames == ["监测帮扶情况", "期限完成情况"]
        main = [list(r) for r in book["监测帮扶情况"].iter_rows(values_only=True)]
        assert main[0][0] == "融安县防止返贫动态监测帮扶情况统计表（2024-03）"
        assert main[1] == ["乡镇", "村", "应走访户数", "已走访户数", "走访覆盖率(%)", "预警数",
                           "已核实", "其中拟纳入", "其中不纳入", "待核实", "逾期未核实",
                           "平均核实天数", "核实天数中位数", "最长核实天数", "识别纳入中",
                           "监测对象(未消除风险)", "风险消除中", "待落实帮扶责任人",
                           "待制定帮扶计划", "应开展风险评估", "帮扶中", "数据质量问题未整改",
                           "数据质量问题已说明"]
        expected = []
        for row, (township, village) in zip(
                [changan, chengdong, banlan, xincun, banlancun, total],
                [("长安镇", "小计"), ("长安镇", "城东村"), ("板榄镇", "小计"),
                 ("板榄镇", NEW_VILLAGE), ("板榄镇", "板榄村"), ("全县合计", None)],
                strict=True):
            coverage = None if row["visit_coverage"] is None \
                else round(row["visit_coverage"] * 100, 2)
            expected.append([township, village, row["visits_due"], row["visits_done"], coverage,
                             row["warnings_raised"], row["warnings_verified"],
                             row["warnings_included"], row["warnings_dismissed"],
                             row["warnings_pending"], row["warnings_overdue"],
                             row["verification_days_avg"], row["verification_days_median"],
                             row["verification_days_max"], row["identifications_in_progress"],
                             row["cases_open"], row["cases_elimination_in_progress"],
                             row["cases_awaiting_helper"], row["cases_awaiting_plan"],
                             row["cases_assessment_due"], row["cases_assisted"],
                             row["anomalies_open"], row["anomalies_explained"]])
        assert main[2:8] == expected
        assert main[2][4] == 50.0 and main[7][4] == 50.0 and main[6][4] == 66.67
        assert main[9][0].startswith("统计日：2024-04-10")
        lines = [list(r) for r in book["期限完成情况"].iter_rows(values_only=True)]
        assert lines[1] == ["乡镇", "村", "期限类型", "按期完成", "逾期完成", "逾期未完成",
                            "未到期"]
        places = [("长安镇", "小计", changan), ("长安镇", "城东村", chengdong),
                  ("板榄镇", "小计", banlan), ("板榄镇", NEW_VILLAGE, xincun),
                  ("板榄镇", "板榄村", banlancun), ("全县合计", None, total)]
        assert lines[2:2 + sum(len(p[2]["deadlines"]) for p in places)] == [
            [t, v, d["kind_name"], d["met_on_time"], d["met_late"], d["open_overdue"],
             d["open_not_due"]] for t, v, row in places for d in row["deadlines"]]


async def test_scope_periods_and_roles(app):
    await build_county(app)
    march = {"period": "2024-03"}
    township = await ok(await app.get(URL, params=march, headers=BANLAN_TOWNSHIP), 200)
    assert township["rows"] == [BANLAN_ROW, XINCUN, BANLANCUN]
    assert township["total"] == {**BANLAN_ROW, "level": "county", "township": None,
                                 "township_name": None}
    r = await app.get(f"{URL}.xlsx", params=march, headers=BANLAN_TOWNSHIP)
    sheet = [list(row) for row in load_workbook(io.BytesIO(r.content))["监测帮扶情况"].iter_rows(
        min_row=3, max_row=6, max_col=6, values_only=True)]
    assert sheet == [["板榄镇", "小计", 4, 2, 50.0, 3], ["板榄镇", NEW_VILLAGE, 1, 0, 0.0, 1],
                     ["板榄镇", "板榄村", 3, 2, 66.67, 2], ["合计", None, 4, 2, 50.0, 3]]
    other = await ok(await app.get(URL, params=march, headers=CHANGAN_TOWNSHIP), 200)
    assert other["rows"] == [CHANGAN_ROW, CHENGDONG]
    village = await ok(await app.get(URL, params=march, headers=NEW_VILLAGE_TOKEN), 200)
    assert village["rows"] == [{**XINCUN, "level": "township", "village": None}, XINCUN]
    platform = await ok(await app.get(URL, params=march, headers=PLATFORM), 200)
    assert platform["total"] == TOTAL
    assert (await app.get(URL, params=march, headers=DEPARTMENT)).status_code == 403
    assert (await app.get(URL, params=march)).status_code == 401

    # April: the one clue raised in April, its verification not yet due; no visit deadlines.
    april = await ok(await app.get(URL, params={"period": "2024-04"}, headers=COUNTY), 200)
    assert [(r["level"], r["village"]) for r in april["rows"]] == [
        ("township", None), ("village", "城东村"), ("township", None), ("village", NEW_VILLAGE),
        ("village", "板榄村")]
    total = april["total"]
    assert total == {**TOTAL, **figures((0, 0), (1, 0, 0, 1, 0), (None, None, None), 1,
                                        (1, 1, 1, 1, 1)),
                     "deadlines": deadlines(verification=(0, 0, 0, 1))}
    # From 1 March to 30 April: both months' visits and warnings; the deadlines due in either.
    both = await ok(await app.get(URL, params={"from": "2024-03-01", "to": "2024-04-30"},
                                  headers=COUNTY), 200)
    assert (both["period"], both["period_from"], both["period_to"]) == (
        "2024-03-01至2024-04-30", "2024-03-01", "2024-04-30")
    assert both["total"] == {**TOTAL, **figures((6, 3), (5, 1, 2, 2, 1), (6.0, 5.0, 11), 1,
                                                (1, 1, 1, 1, 1)),
                             "deadlines": deadlines(visit_monthly=(3, 0, 3, 0),
                                                    visit_q1=(3, 1, 2, 0),
                                                    verification=(2, 1, 1, 1),
                                                    helper=(1, 1, 1, 0), plan=(1, 0, 2, 0),
                                                    assessment=(0, 1, 1, 0),
                                                    campaign=(0, 0, 1, 0),
                                                    risk_review=(0, 0, 1, 0))}
    # A period with nothing in it: only open cases and procedures, which are the day's state.
    empty = await ok(await app.get(URL, params={"from": "2023-01-01", "to": "2023-01-31"},
                                   headers=COUNTY), 200)
    assert empty["total"]["visits_due"] == 0 and empty["total"]["visit_coverage"] is None
    assert empty["total"]["warnings_raised"] == 0 and empty["total"]["deadlines"] == []
    assert empty["total"]["cases_open"] == 5


@pytest.mark.parametrize("params, field", [
    ({}, "period"),
    ({"period": "2024-13"}, "period"),
    ({"period": "2024/03"}, "period"),
    ({"period": "2024-03", "from": "2024-03-01", "to": "2024-03-31"}, "period"),
    ({"from": "2024-03-01"}, "to"),
    ({"to": "2024-03-01"}, "from"),
    ({"from": "2024-03-10", "to": "2024-03-01"}, "to"),
    ({"from": "2023-01-01", "to": "2024-03-01"}, "to"),
    ({"from": "2024-02-30", "to": "2024-03-01"}, "from"),
])
async def test_a_bad_period_is_refused_naming_the_field(app, params, field):
    for url in (URL, f"{URL}.xlsx"):
        r = await app.get(url, params=params, headers=COUNTY)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", field], r.text
    r = await app.get(URL, params={"period": "2024-03", "format": "pdf"}, headers=COUNTY)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "format"]


def test_periods_and_the_months_they_touch():
    p = rules.parse_period(None, date(2024, 1, 31), date(2024, 3, 1))
    assert p.months() == [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)]
    p = rules.parse_period("2024-02", None, None)
    assert (p.start, p.end, p.months()) == (date(2024, 2, 1), date(2024, 2, 29),
                                            [date(2024, 2, 1)])
    assert rules.parse_period(None, date(2024, 1, 1), date(2024, 12, 31)).end.year == 2024
    with pytest.raises(rules.PeriodProblem):
        rules.parse_period(None, date(2024, 1, 1), date(2025, 1, 1))
