"""The monthly form's deadlines (townships by the 3rd, the county by the 5th), reminders once
each, the submission history and the county roll-up."""

import io
from datetime import date

from openpyxl import load_workbook

from fangpin_common.testing import eventually

from .conftest import (
    BANLAN,
    BANLAN_TOWNSHIP,
    CHANGAN,
    CHANGAN_TOWNSHIP,
    COUNTY,
    household,
    member,
    publish,
    published,
    scan,
    settled,
)


async def test_deadlines_submissions_and_roll_up(employment, clock):
    client, url = employment, employment.nats_url
    clock.set_today(date(2024, 8, 1))
    await publish(url, [
        household("h1", [member("a", "甲", date(1980, 1, 1)),
                         member("b", "乙", date(1982, 1, 1), sex="女", relation="配偶")]),
        household("h2", [member("c", "丙", date(1985, 6, 1))], township=BANLAN,
                  village="板榄村"),
    ])

    async def three():
        return len((await client.get("/api/v1/labourers", headers=COUNTY)).json()) == 3

    await eventually(three)
    assert (await scan(client, clock, date(2024, 8, 1)))["form_deadlines_opened"] == 13
    await scan(client, clock, date(2024, 8, 2))  # the day before the 3rd
    due_soon = await published(url, "fangpin.employment.form.due_soon")
    assert len(due_soon) == 12 and {e["data"]["kind"] for e in due_soon} == {
        "employment.form.township"}
    assert {e["data"]["due_on"] for e in due_soon} == {"2024-08-03"}

    r = await client.post("/api/v1/forms/2024-08/townships/长安镇/submissions",
                          headers=CHANGAN_TOWNSHIP, json={"filler": "李填表",
                                                          "contact": "0772-8130000"})
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["version"], first["row_count"], first["late"]) == (1, 2, False)
    r = await client.post("/api/v1/forms/2024-08/townships/板榄镇/submissions",
                          headers=CHANGAN_TOWNSHIP, json={"filler": "李填表"})
    assert r.status_code == 403  # one township cannot submit another's form

    await scan(client, clock, date(2024, 8, 4))
    overdue = await published(url, "fangpin.employment.form.overdue")
    assert len(overdue) == 11 and CHANGAN not in {e["data"]["township"] for e in overdue}
    county_soon = [e for e in await published(url, "fangpin.employment.form.due_soon")
                   if e["data"]["kind"] == "employment.form.county"]
    assert [e["data"]["due_on"] for e in county_soon] == ["2024-08-05"]

    # 长安镇 corrects its form: a second version; the history keeps both.
    clock.set_today(date(2024, 8, 4))
    r = await client.post("/api/v1/forms/2024-08/townships/长安镇/submissions",
                          headers=CHANGAN_TOWNSHIP, json={"filler": "李填表"})
    assert r.json()["version"] == 2 and r.json()["late"] is True
    r = await client.post("/api/v1/forms/2024-08/townships/板榄镇/submissions",
                          headers=BANLAN_TOWNSHIP, json={"filler": "黄填表"})
    assert r.json()["late"] is True

    await scan(client, clock, date(2024, 8, 6))
    county_overdue = [e for e in await published(url, "fangpin.employment.form.overdue")
                      if e["data"]["kind"] == "employment.form.county"]
    assert [e["subject"] for e in county_overdue] == ["county:2024-08"]
    await scan(client, clock, date(2024, 8, 7))  # nothing is announced twice
    assert len(await published(url, "fangpin.employment.form.overdue")) == 12

    r = await client.post("/api/v1/forms/2024-08/county/submissions", headers=COUNTY,
                          json={"filler": "县就业社保专责小组"})
    assert r.status_code == 201
    county = r.json()
    assert county["row_count"] == 3 and county["late"] is True
    assert len(county["missing_townships"]) == 10 and CHANGAN not in county[
        "missing_townships"] and BANLAN not in county["missing_townships"]

    history = (await client.get("/api/v1/forms/2024-08/submissions", headers=COUNTY)).json()
    assert sorted((h["level"], h["township"] or "", h["version"]) for h in history) == [
        ("county", "", 1), ("township", CHANGAN, 1), ("township", CHANGAN, 2),
        ("township", BANLAN, 1)]
    mine = (await client.get("/api/v1/forms/2024-08/submissions",
                             headers=CHANGAN_TOWNSHIP)).json()
    assert [h["version"] for h in mine] == [1, 2]
    await settled(client)
    submitted = [e["data"] for e in await published(url, "fangpin.employment.form.submitted")]
    assert len(submitted) == 4 and all("contact" not in e for e in submitted)

    # A stored version renders exactly as submitted, in the plan's layout.
    r = await client.get(f"/api/v1/forms/submissions/{first['id']}", headers=CHANGAN_TOWNSHIP,
                         params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[4] for r in rows[2:4]] == ["乙", "甲"]  # by village, then name
    assert rows[5][0] == "填报人:李填表" and "联系电话:0772-8130000" in rows[5]

    # The county roll-up: every township's rows, numbered anew, and a summary sheet.
    r = await client.get("/api/v1/forms/2024-08/county", headers=COUNTY,
                         params={"format": "xlsx"})
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["2024-08", "汇总"]
    rows = list(book["2024-08"].iter_rows(values_only=True))
    assert [(r[0], r[2], r[4]) for r in rows[2:5]] == [(1, "长安镇", "乙"), (2, "长安镇", "甲"),
                                                      (3, "板榄镇", "丙")]
    summary = {r[0]: r[1] for r in book["汇总"].iter_rows(min_row=3, values_only=True)}
    assert summary["长安镇"] == 2 and summary["板榄镇"] == 1 and summary["合计"] == 3
    r = await client.get("/api/v1/forms/2024-08/county", headers=CHANGAN_TOWNSHIP)
    assert r.status_code == 403
