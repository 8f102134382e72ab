"""Targets (E1), public-welfare posts (E2), workshops (E3), jobs and work relief (E5, E11),
subsidies, loans and training (E8–E10), quarterly sharing (E6) and supervision (E13)."""

import io
from datetime import date

from openpyxl import load_workbook

from fangpin_common.testing import auth, eventually, token_for

from .conftest import (
    BANLAN_TOWNSHIP,
    CHANGAN_TOWNSHIP,
    COUNTY,
    household,
    member,
    publish,
    published,
    settled,
)

HR_BUREAU = auth(token_for("department", department="county.hrss"))


async def setup_people(client, clock):
    clock.set_today(date(2024, 7, 10))
    await publish(client.nats_url, [
        household("h1", [member("a", "甲", date(1980, 1, 1)),
                         member("w", "弱", date(1970, 1, 1), capacity="弱劳力",
                                relation="配偶")]),
        household("h2", [member("n", "普", date(1990, 1, 1))], category="一般农户"),
    ])

    async def ready():
        r = await client.get("/api/v1/labourers", headers=COUNTY,
                             params={"include_inactive": True})
        return len(r.json()) == 3

    await eventually(ready)
    r = await client.post("/api/v1/labourers", headers=COUNTY, json={"member_id": "n"})
    assert r.status_code == 201


def work(labourer, quarter, months, location, wage=900_000) -> dict:
    return {"labourer_id": labourer, "year": 2024, "quarter": quarter, "months_worked": months,
            "wage_fen": wage, "location_type": location, "place": "某地", "employer": "某厂",
            "verified_on": f"2024-0{3 * quarter}-20"}


async def test_targets_posts_workshops(employment, clock):
    client = employment
    await setup_people(client, clock)
    r = await client.post("/api/v1/work-info/batch", headers=COUNTY, json={"records": [
        work("a", 1, 3, "区外"), work("a", 2, 3, "区外"), work("n", 2, 1, "县内", 300_000)]})
    assert r.status_code == 201, r.text

    # E1: the plan's table exactly as given, and progress against it.
    table = (await client.get("/api/v1/targets", headers=CHANGAN_TOWNSHIP)).json()
    changan = next(t for t in table["townships"] if t["township_name"] == "长安镇")
    assert (changan["general"], changan["poverty_alleviated"], changan["total"]) == (
        21538, 10584, 28725)
    assert table["total"]["total"] == 93000 and table["total"]["poverty_alleviated"] == 33393
    progress = (await client.get("/api/v1/targets/progress", headers=COUNTY,
                                 params={"year": 2024})).json()
    row = next(r for r in progress["rows"] if r["township_name"] == "长安镇")
    assert (row["transferred_total"], row["transferred_poverty"], row["transferred_general"],
            row["stable_poverty"]) == (2, 1, 1, 1)
    assert row["progress_total"] == "0.0" and row["target_total"] == 28725
    stable = (await client.get("/api/v1/work-info/stable/长安镇", headers=CHANGAN_TOWNSHIP,
                               params={"year": 2024})).json()
    assert [(x["labourer_id"], x["months"]) for x in stable] == [("a", 6)]
    total = progress["rows"][-1]
    assert total["township_name"] == "合计" and total["target_total"] == 93000
    assert total["transferred_total"] == 2
    r = await client.get("/api/v1/targets/progress", headers=COUNTY,
                         params={"year": 2024, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content)).active
    assert [c.value for c in sheet[2]][:4] == ["乡(镇)", "面上人数目标", "脱贫户(含监测户)目标",
                                               "转移就业总人数目标"]
    assert sheet.max_row == 2 + 13

    # E2: a post for weak labour, its quota, and an exit that makes a key-group member.
    r = await client.post("/api/v1/posts", headers=CHANGAN_TOWNSHIP, json={
        "name": "长安村保洁员", "township": "长安镇", "village": "长安村", "year": 2024,
        "quota": 1, "monthly_subsidy_fen": 50_000})
    assert r.status_code == 201, r.text
    post = r.json()
    r = await client.post(f"/api/v1/posts/{post['id']}/holders", headers=CHANGAN_TOWNSHIP,
                          json={"labourer_id": "a", "start_on": "2024-07-01"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "justification"]
    r = await client.post(f"/api/v1/posts/{post['id']}/holders", headers=CHANGAN_TOWNSHIP,
                          json={"labourer_id": "w", "start_on": "2024-07-01"})
    assert r.status_code == 201, r.text
    holding = r.json()
    r = await client.post(f"/api/v1/posts/{post['id']}/holders", headers=CHANGAN_TOWNSHIP,
                          json={"labourer_id": "n", "start_on": "2024-07-01",
                                "justification": "就业困难"})
    assert r.status_code == 422 and "岗位已满" in r.json()["detail"][0]["msg"]
    posts = (await client.get("/api/v1/posts", headers=CHANGAN_TOWNSHIP)).json()
    assert [(p["quota"], p["holders"]) for p in posts] == [(1, 1)]
    r = await client.post(f"/api/v1/posts/holders/{holding['id']}/exit",
                          headers=CHANGAN_TOWNSHIP, json={"end_on": "2024-07-09",
                                                          "reason": "合同期满"})
    assert r.status_code == 200, r.text
    groups = (await client.get("/api/v1/key-groups", headers=COUNTY)).json()
    assert [(g["labourer_id"], g["key_group"], g["since"]) for g in groups] == [
        ("w", "公益性岗位退出人员", "2024-07-09")]
    form = (await client.get("/api/v1/forms/2024-07/townships/长安镇", headers=COUNTY)).json()
    assert [(row[4], row[7]) for row in form["rows"]] == [("弱", "公益性岗位退出人员")]

    # E3: a workshop, its 脱贫 employees over time, management class, one-time subsidy.
    r = await client.post("/api/v1/workshops", headers=CHANGAN_TOWNSHIP, json={
        "name": "长安村金桔加工车间", "township": "长安镇", "village": "长安村",
        "operator": "某金桔合作社", "model": "联合体+就业帮扶车间", "management_class": "新建",
        "liaison_name": "覃专员", "pilot": True, "established_on": "2024-03-01"})
    assert r.status_code == 201, r.text
    shop = r.json()
    for labourer, start in (("a", "2024-04-15"), ("n", "2024-05-01")):
        r = await client.post(f"/api/v1/workshops/{shop['id']}/employees",
                              headers=CHANGAN_TOWNSHIP,
                              json={"labourer_id": labourer, "start_on": start})
        assert r.status_code == 201, r.text
    employee = r.json()
    r = await client.post(f"/api/v1/workshops/employees/{employee['id']}/leave",
                          headers=CHANGAN_TOWNSHIP, json={"end_on": "2024-06-10"})
    assert r.status_code == 200
    series = (await client.get(f"/api/v1/workshops/{shop['id']}/headcount",
                               headers=CHANGAN_TOWNSHIP)).json()["poverty_employees_by_month"]
    assert series == {"2024-01": 0, "2024-02": 0, "2024-03": 0, "2024-04": 1, "2024-05": 1,
                      "2024-06": 1, "2024-07": 1}
    body = {"kind": "一次性建设补助", "amount_fen": 5_000_000, "granted_on": "2024-07-01"}
    r = await client.post(f"/api/v1/workshops/{shop['id']}/subsidies", headers=COUNTY,
                          json=body)
    assert r.status_code == 201
    r = await client.post(f"/api/v1/workshops/{shop['id']}/subsidies", headers=COUNTY,
                          json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "kind"]
    r = await client.patch(f"/api/v1/workshops/{shop['id']}", headers=COUNTY,
                           json={"management_class": "扶持", "liaison_name": "韦专员"})
    assert (r.json()["management_class"], r.json()["class_since"], r.json()["liaison_name"],
            r.json()["poverty_employees"], r.json()["subsidies_fen"]) == (
        "扶持", "2024-07-10", "韦专员", 1, 5_000_000)


async def test_jobs_support_sharing_supervision(employment, clock):
    client = employment
    await setup_people(client, clock)
    r = await client.post("/api/v1/work-info/batch", headers=COUNTY, json={"records": [
        work("a", 2, 3, "区外")]})
    assert r.status_code == 201

    # E5/E11: a posting pushed to 长安镇, seen there and not in 板榄镇; an event goes out.
    r = await client.post("/api/v1/jobs", headers=COUNTY, json={
        "kind": "enterprise", "title": "普工", "employer": "柳州某汽车配件厂", "positions": 30,
        "wage_min_fen": 400_000, "wage_max_fen": 600_000, "townships": ["长安镇"],
        "closes_on": "2024-08-31"})
    assert r.status_code == 201, r.text
    posting = r.json()
    assert posting["townships"] == ["450224100"]
    r = await client.post("/api/v1/jobs", headers=CHANGAN_TOWNSHIP, json={
        "kind": "gig", "title": "金桔采摘", "employer": "某果园", "positions": 10})
    assert r.status_code == 201 and r.json()["townships"] == ["450224100"]
    seen = (await client.get("/api/v1/jobs", headers=CHANGAN_TOWNSHIP)).json()
    assert {p["title"] for p in seen} == {"普工", "金桔采摘"}
    assert (await client.get("/api/v1/jobs", headers=BANLAN_TOWNSHIP)).json() == []
    r = await client.post("/api/v1/jobs", headers=COUNTY, json={
        "title": "x", "employer": "y", "positions": 1, "wage_min_fen": 2, "wage_max_fen": 1})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "wage_max_fen"]
    await settled(client)
    events = await published(client.nats_url, "fangpin.employment.jobs.published")
    assert [(e["data"]["title"], e["data"]["townships"]) for e in events] == [
        ("普工", ["450224100"]), ("金桔采摘", ["450224100"])]

    # Work relief: a contract, a month paid short: flagged.
    r = await client.post("/api/v1/work-relief/projects", headers=COUNTY, json={
        "name": "长安村机耕路", "township": "长安镇", "contractor": "某建筑公司",
        "starts_on": "2024-06-01"})
    project = r.json()
    r = await client.post(f"/api/v1/work-relief/projects/{project['id']}/contracts",
                          headers=COUNTY, json={"labourer_id": "a", "signed_on": "2024-06-01",
                                                "daily_wage_fen": 15_000})
    assert r.status_code == 201, r.text
    contract = r.json()
    for period, days, paid in (("2024-06", 20, 300_000), ("2024-07", 5, 50_000)):
        r = await client.put(f"/api/v1/work-relief/contracts/{contract['id']}/wages",
                             headers=COUNTY, json={"period": period, "days_worked": days,
                                                   "paid_fen": paid, "paid_on": "2024-07-05"})
        assert r.status_code == 200, r.text
    unpaid = (await client.get(f"/api/v1/work-relief/projects/{project['id']}/unpaid",
                               headers=COUNTY)).json()
    assert [(u["period"], u["due_fen"], u["unpaid_fen"]) for u in unpaid] == [
        ("2024-07", 75_000, 25_000)]

    # E8–E10: each kind checks its rule; a one-time subsidy once; status transitions.
    r = await client.post("/api/v1/support/applications", headers=CHANGAN_TOWNSHIP, json={
        "kind": "travel_subsidy", "labourer_id": "a", "amount_fen": 50_000})
    assert r.status_code == 201, r.text
    travel = r.json()
    assert travel["label"] == "脱贫人口跨省就业一次性交通补助"
    r = await client.post("/api/v1/support/applications", headers=CHANGAN_TOWNSHIP, json={
        "kind": "travel_subsidy", "labourer_id": "a", "amount_fen": 50_000})
    assert r.status_code == 422 and "本年度已申请" in r.json()["detail"][0]["msg"]
    r = await client.post("/api/v1/support/applications", headers=CHANGAN_TOWNSHIP, json={
        "kind": "travel_subsidy", "labourer_id": "w", "amount_fen": 50_000})
    assert r.status_code == 422 and "跨省" in r.json()["detail"][0]["msg"]
    r = await client.post("/api/v1/support/applications", headers=CHANGAN_TOWNSHIP, json={
        "kind": "microcredit", "labourer_id": "n", "amount_fen": 5_000_000})
    assert r.status_code == 422 and "脱贫户" in r.json()["detail"][0]["msg"]
    r = await client.post("/api/v1/support/applications", headers=CHANGAN_TOWNSHIP, json={
        "kind": "free_training", "labourer_id": "w", "amount_fen": 0,
        "training_course": "电工"})
    assert r.status_code == 201
    r = await client.post(f"/api/v1/support/applications/{travel['id']}/decision",
                          headers=COUNTY, json={"action": "pay"})
    assert r.status_code == 409
    for action, status in (("approve", "approved"), ("pay", "paid")):
        r = await client.post(f"/api/v1/support/applications/{travel['id']}/decision",
                              headers=COUNTY, json={"action": action})
        assert r.json()["status"] == status

    # E6: last quarter's work information and key groups for the HR bureau.
    r = await client.get("/api/v1/sharing/2024/3", headers=HR_BUREAU)
    assert r.status_code == 422  # the quarter is not over
    shared = (await client.get("/api/v1/sharing/2024/2", headers=HR_BUREAU)).json()
    rows = shared["work_information"]
    assert [(w["姓名"], w["务工地点类型"], w["工资收入(元)"]) for w in rows] == [
        ("甲", "区外", "9000.00")]
    r = await client.get("/api/v1/labourers", headers=auth(token_for(
        "department", department="county.civil_affairs")))
    assert r.status_code == 403  # other departments do not reach employment data
    r = await client.get("/api/v1/sharing/2024/2", headers=CHANGAN_TOWNSHIP)
    assert r.status_code == 403
    r = await client.get("/api/v1/sharing/2024/2", headers=HR_BUREAU, params={"format": "xlsx"})
    assert load_workbook(io.BytesIO(r.content)).sheetnames == ["务工信息", "重点群体"]
    r = await client.post("/api/v1/sharing/2024/2", headers=COUNTY)
    assert r.status_code == 201 and r.json()["work_records"] == 1
    assert (await client.post("/api/v1/sharing/2024/2", headers=COUNTY)).status_code == 409
    await settled(client)
    [shared_event] = await published(client.nats_url, "fangpin.employment.work_info.shared")
    assert shared_event["data"]["year"] == 2024 and shared_event["data"]["quarter"] == 2

    # E13: unannounced checks, findings, rectification; 2–3 a quarter by the plan.
    r = await client.post("/api/v1/supervision/checks", headers=COUNTY, json={
        "township": "长安镇", "checked_on": "2024-07-05", "inspectors": ["县人社局"],
        "findings": [{"issue": "务工信息未按季度核实", "severity": "突出",
                      "notify_units": ["county.agriculture"]}]})
    assert r.status_code == 201, r.text
    finding = r.json()["findings"][0]
    r = await client.post("/api/v1/supervision/checks", headers=COUNTY, json={
        "township": "长安镇", "checked_on": "2024-07-05", "inspectors": ["县人社局"],
        "findings": [{"issue": "x", "notify_units": ["nobody"]}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == [
        "body", "findings", 0, "notify_units", 0]
    summary = (await client.get("/api/v1/supervision/summary", headers=COUNTY,
                                params={"year": 2024, "quarter": 3})).json()
    assert (summary["unannounced_checks"], summary["meets_plan"]) == (1, False)
    changan = next(t for t in summary["townships"] if t["township_name"] == "长安镇")
    assert (changan["findings"], changan["serious_findings"], changan["open_findings"]) == (
        1, 1, 1)
    r = await client.post(f"/api/v1/supervision/findings/{finding['id']}/rectified",
                          headers=CHANGAN_TOWNSHIP,
                          json={"rectified_on": "2024-07-10", "rectification": "已逐户核实"})
    assert r.status_code == 200
    await client.post("/api/v1/supervision/checks", headers=COUNTY, json={
        "township": "板榄镇", "checked_on": "2024-07-08", "inspectors": ["县人社局"]})
    summary = (await client.get("/api/v1/supervision/summary", headers=COUNTY,
                                params={"year": 2024, "quarter": 3})).json()
    assert summary["meets_plan"] is True
    assert next(t for t in summary["townships"] if t["township_name"] == "长安镇")[
        "open_findings"] == 0
