"""The employment scenario, end to end over JetStream, on SQLite and PostgreSQL.

A household arrives by monitoring's event → its labourers appear → quarterly work information
is entered, one late (reminder events) → a worker comes home and stays: exactly one
returned_home → "251" items are recorded → the township's monthly form matches the records
cell by cell, as JSON, CSV and XLSX.
"""

import csv
import io
from datetime import date

from openpyxl import load_workbook

from fangpin_common.testing import auth, eventually, token_for

from .conftest import (
    BANLAN,
    CHANGAN_TOWNSHIP,
    COUNTY,
    case_opened,
    household,
    member,
    publish,
    published,
    scan,
    settled,
)

A, B, C, D, E, F = "m-a", "m-b", "m-c", "m-d", "m-e", "m-f"
COLUMNS = ["序号", "县(区)", "乡(镇)", "村(安置点)", "姓名", "性别", "年龄", "未转移就业人员类型",
           "家庭类型", "是否开展“251”就业帮扶", "开展“251”帮扶是否有台账", "目前转移就业状况",
           "未转移就业原因", "备注"]
NO_PROGRESS = "“251”帮扶进度：岗位推荐0/2、政策宣传或就业服务0/5、技能培训推荐0/1"


def work(labourer, months, wage_fen, verified_on, location=None, place=None, employer=None,
         year=2024, quarter=2) -> dict:
    return {"labourer_id": labourer, "year": year, "quarter": quarter, "months_worked": months,
            "wage_fen": wage_fen, "location_type": location, "place": place,
            "employer": employer, "helper_name": "蓝帮扶", "verified_on": verified_on}


def item(kind, on, content="") -> dict:
    return {"kind": kind, "item_on": on, "helper_name": "蓝帮扶", "helper_unit": "county.hrss",
            "content": content or f"{kind} {on}"}


async def test_household_event_to_monthly_form(employment, clock):
    client, url = employment, employment.nats_url
    # 1. Monitoring publishes households (and a case): the labourers appear here.
    clock.set_today(date(2024, 4, 1))
    await publish(url, [
        household("h1", [member(A, "韦大军", date(1985, 3, 2)),
                         member(B, "韦小红", date(1990, 7, 15), sex="女", relation="配偶"),
                         member(C, "韦小明", date(2015, 1, 1), capacity="无劳动力",
                                relation="之子", in_school=True),
                         member(D, "韦老汉", date(1950, 2, 2), capacity="弱劳力",
                                relation="父亲")]),
        case_opened("h2", date(2024, 3, 20), village="江边村"),
        household("h2", [member(E, "覃强", date(1978, 11, 30), capacity="半劳力")],
                  village="江边村", category="监测户", subcategory="边缘易致贫户"),
        household("h3", [member(F, "黄丽", date(1995, 5, 5), sex="女")], township=BANLAN,
                  village="板榄村"),
    ])

    async def labourers():
        r = await client.get("/api/v1/labourers", headers=COUNTY)
        return {x["id"]: x for x in r.json()} if len(r.json()) == 4 else None

    people = await eventually(labourers)
    assert set(people) == {A, B, E, F}  # the child and the 74-year-old are not labourers
    assert people[E]["household_category"] == "监测户" and people[A]["age"] == 39
    r = await client.get("/api/v1/labourers", params={"township": "长安镇"},
                         headers=CHANGAN_TOWNSHIP)
    assert {x["id"] for x in r.json()} == {A, B, E}
    r = await client.get(f"/api/v1/labourers/{F}", headers=CHANGAN_TOWNSHIP)
    assert r.status_code == 403

    opened = await scan(client, clock, date(2024, 4, 1))
    assert opened["work_info_deadlines_opened"] == 4  # one per labourer for 2024 Q2
    assert opened["form_deadlines_opened"] == 13  # twelve townships and the county

    # 2. Quarterly work information, verified with the households before the quarter ends.
    clock.set_today(date(2024, 6, 12))
    r = await client.post("/api/v1/work-info", headers=CHANGAN_TOWNSHIP, json=work(
        A, 3, 1_560_000, "2024-06-12", "区外", "广东省东莞市", "东莞市某电子厂"))
    assert r.status_code == 201, r.text
    assert r.json() == {"stored": 1, "deadlines_met": 1}
    r = await client.post("/api/v1/work-info/batch", headers=COUNTY, json={"records": [
        work(E, 0, 0, "2024-06-12"),
        work(F, 2, 600_000, "2024-06-12", "县内", "融安县城", "融安县某木业公司")]})
    assert r.json() == {"stored": 2, "deadlines_met": 2}

    await scan(client, clock, date(2024, 6, 16))  # the quarter ends in 15 days
    due_soon = await published(url, "fangpin.employment.work_info.due_soon")
    assert [e["subject"] for e in due_soon] == [f"{B}:2024Q2"]
    assert due_soon[0]["data"]["township"] == "450224100"

    await scan(client, clock, date(2024, 7, 1))  # B's quarter ended unverified: overdue
    overdue = await published(url, "fangpin.employment.work_info.overdue")
    assert [e["subject"] for e in overdue] == [f"{B}:2024Q2"]
    assert overdue[0]["data"]["due_on"] == "2024-06-30"
    assert overdue[0]["data"]["context"]["labourer_id"] == B

    clock.set_today(date(2024, 7, 3))  # entered late
    r = await client.post("/api/v1/work-info", headers=CHANGAN_TOWNSHIP,
                          json=work(B, 0, 0, "2024-07-03"))
    assert r.json() == {"stored": 1, "deadlines_met": 1}
    records = (await client.get("/api/v1/work-info", headers=CHANGAN_TOWNSHIP,
                                params={"year": 2024, "quarter": 2})).json()
    assert {(r["labourer_id"], r["months_worked"], r["location_type"]) for r in records} == {
        (A, 3, "区外"), (B, 0, None), (E, 0, None)}  # F is in another township
    screening = (await client.get("/api/v1/work-info/anomalies", headers=CHANGAN_TOWNSHIP,
                                  params={"year": 2024, "quarter": 2,
                                          "township": "长安镇"})).json()
    assert screening["labourers"] == 3 and screening["records"] == 3
    assert [(a["labourer_id"], a["codes"]) for a in screening["anomalies"]] == [
        (B, ["verified_late"])]

    # 3. A comes home from Guangdong on 5 July and stays: a returnee after more than a month.
    clock.set_today(date(2024, 7, 5))
    r = await client.post("/api/v1/returns", headers=CHANGAN_TOWNSHIP, json={
        "labourer_id": A, "back_since": "2024-07-05", "previous_location_type": "区外",
        "previous_place": "广东省东莞市"})
    assert r.status_code == 201, r.text
    assert r.json()["qualifies_on"] == "2024-08-06"
    assert (await scan(client, clock, date(2024, 8, 5)))["returnees"] == 0
    assert (await scan(client, clock, date(2024, 8, 6)))["returnees"] == 1
    assert (await scan(client, clock, date(2024, 8, 7)))["returnees"] == 0
    [back] = (await client.get("/api/v1/returns", headers=CHANGAN_TOWNSHIP)).json()
    assert (back["labourer_id"], back["state"]) == (A, "returnee")
    [returned] = await published(url, "fangpin.employment.worker.returned_home")
    assert returned["data"] | {"return_id": None} == {
        "return_id": None, "labourer_id": A, "household_id": "h1", "township": "450224100",
        "village": "长安村", "previous_location_type": "区外", "back_since": "2024-07-05",
        "qualified_on": "2024-08-06"}
    groups = (await client.get("/api/v1/key-groups", headers=COUNTY,
                               params={"township": "长安镇"})).json()
    assert sorted((g["labourer_id"], g["key_group"]) for g in groups) == [
        (A, "返乡回流人员"), (E, "监测对象")]
    monitored = next(g for g in groups if g["labourer_id"] == E)
    assert monitored["since"] == "2024-03-20"  # the case's inclusion date

    # 4. "251" assistance, item by item: A gets the whole package, B one recommendation.
    clock.set_today(date(2024, 8, 10))
    village = auth(token_for("village", "长安镇", village="长安村"))
    items = ([item("job_recommendation", f"2024-08-0{d}") for d in (7, 8)]
             + [item("policy_contact", f"2024-08-0{d}") for d in (7, 8, 9)]
             + [item("policy_contact", f"2024-08-1{d}") for d in (0, 0)]
             + [item("training_referral", "2024-08-09")])
    for body in items:
        r = await client.post(f"/api/v1/labourers/{A}/assistance-items", headers=village,
                              json=body)
        assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/labourers/{B}/assistance-items", headers=village,
                          json=item("job_recommendation", "2024-08-08", "推荐到县城超市"))
    assert r.status_code == 201
    ledger = (await client.get(f"/api/v1/labourers/{A}/assistance", headers=village)).json()
    assert ledger["carried_out"] is True and ledger["has_ledger"] is True
    assert [(p["kind"], p["done"]) for p in ledger["progress"]] == [
        ("job_recommendation", 2), ("policy_contact", 5), ("training_referral", 1)]
    kept = (await client.get("/api/v1/assistance/ledger", headers=village,
                             params={"township": "长安镇"})).json()
    assert [(x["name"], x["kind"]) for x in kept].count(("韦大军", "policy_contact")) == 5
    assert len(kept) == 9 and {x["village"] for x in kept} == {"长安村"}
    r = await client.put(f"/api/v1/labourers/{B}/situation", headers=village,
                         json={"reason": "照顾家庭", "remark": "孩子年幼"})
    assert r.status_code == 200, r.text
    await scan(client, clock, date(2024, 8, 10))
    # The returnee's "251" deadline was met by the package: no reminder about it, ever.
    await scan(client, clock, date(2024, 9, 30))
    assert await published(url, "fangpin.employment.returnee.assistance_overdue") == []

    # 5. The monthly form of 长安镇 for August, as of 20 August: cell by cell.
    clock.set_today(date(2024, 8, 20))
    expected = [
        [1, "融安县", "长安镇", "江边村", "覃强", "男", 45, "监测对象", "监测户（边缘易致贫户）",
         "否", "否", "未就业", "", NO_PROGRESS],
        [2, "融安县", "长安镇", "长安村", "韦大军", "男", 39, "返乡回流人员", "脱贫户", "是", "是",
         "返乡未就业", "", ""],
        [3, "融安县", "长安镇", "长安村", "韦小红", "女", 34, "其他", "脱贫户", "否", "是",
         "未就业", "照顾家庭",
         "孩子年幼；“251”帮扶进度：岗位推荐1/2、政策宣传或就业服务0/5、技能培训推荐0/1"],
    ]
    form = (await client.get("/api/v1/forms/2024-08/townships/长安镇",
                             headers=CHANGAN_TOWNSHIP)).json()
    assert form["title"] == "融安县未转移就业脱贫劳动力就业情况统计表"
    assert form["columns"] == COLUMNS and form["rows"] == expected

    r = await client.get("/api/v1/forms/2024-08/townships/长安镇", headers=CHANGAN_TOWNSHIP,
                         params={"format": "xlsx", "filler": "李填表", "contact": "0772-8130000"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(r.content)).active
    cells = [[c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)]
    assert cells[0][0] == "融安县未转移就业脱贫劳动力就业情况统计表"
    assert "A1:N1" in {str(m) for m in sheet.merged_cells.ranges}
    assert cells[1] == COLUMNS
    assert cells[2:5] == expected  # one row per person
    assert cells[6][0] == "填报人:李填表" and "联系电话:0772-8130000" in cells[6]

    r = await client.get("/api/v1/forms/2024-08/townships/长安镇", headers=CHANGAN_TOWNSHIP,
                         params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == COLUMNS
    assert rows[1:] == [[str(c) for c in row] for row in expected]

    # 6. The returnee finds a job in the county: the outcome takes him off the form.
    returnee = next(g for g in groups if g["labourer_id"] == A)
    clock.set_today(date(2024, 8, 26))
    r = await client.put(f"/api/v1/key-groups/{returnee['id']}/outcome", headers=village,
                         json={"outcome": "县内就业", "outcome_on": "2024-08-25"})
    assert r.status_code == 200, r.text
    form = (await client.get("/api/v1/forms/2024-08/townships/长安镇",
                             headers=CHANGAN_TOWNSHIP)).json()
    assert [row[4] for row in form["rows"]] == ["覃强", "韦小红"]
    assert [row[0] for row in form["rows"]] == [1, 2]
    await settled(client)
