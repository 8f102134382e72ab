"""Returnees and key groups: more than a month at home makes a returnee, once, even with two
scanners at work; leaving earlier makes none; a returnee without the "251" package is reminded;
graduates of 脱贫 households only."""

import asyncio
from datetime import date

from fangpin_common.testing import eventually
from fangpin_employment.returnees import service as returnees

from .conftest import CHANGAN_TOWNSHIP, COUNTY, household, member, publish, published, scan


async def test_returnees_and_key_groups(employment, clock):
    client, url = employment, employment.nats_url
    clock.set_today(date(2024, 7, 1))
    await publish(url, [
        household("h1", [member("a", "甲", date(1980, 1, 1)), member("b", "乙", date(1984, 1, 1)),
                         member("c", "丙", date(2002, 9, 1), relation="之子")]),
        household("h2", [member("d", "丁", date(2001, 5, 5))], category="一般农户"),
    ])

    async def ready():
        r = await client.get("/api/v1/labourers", headers=COUNTY)
        return len(r.json()) == 3

    await eventually(ready)
    for labourer, since in (("a", "2024-07-01"), ("b", "2024-07-01")):
        r = await client.post("/api/v1/returns", headers=CHANGAN_TOWNSHIP, json={
            "labourer_id": labourer, "back_since": since, "previous_location_type": "区内县外",
            "previous_place": "南宁市"})
        assert r.status_code == 201, r.text
        if labourer == "a":
            a_return = r.json()
    r = await client.post("/api/v1/returns", headers=CHANGAN_TOWNSHIP, json={
        "labourer_id": "a", "back_since": "2024-07-01", "previous_location_type": "区外"})
    assert r.status_code == 409  # one open return per labourer

    # A leaves again before the month is over: never a returnee.
    clock.set_today(date(2024, 7, 20))
    r = await client.post(f"/api/v1/returns/{a_return['id']}/left", headers=CHANGAN_TOWNSHIP,
                          json={"left_on": "2024-07-20"})
    assert r.status_code == 200 and r.json()["state"] == "away"

    # Two scanners at once on 2 August: B becomes a returnee exactly once.
    clock.set_today(date(2024, 8, 2))
    app = client.app
    policy = app.state.employment_policy
    counts = await asyncio.gather(*(returnees.scan_returns(app.state.db, app.state.county,
                                                           policy, clock) for _ in range(3)))
    assert sorted(counts) == [0, 0, 1]
    await scan(client, clock, date(2024, 8, 2))
    assert [e["data"]["labourer_id"] for e in await published(
        url, "fangpin.employment.worker.returned_home")] == ["b"]

    # B gets no "251" package: reminded before the 30 days are up, then overdue, once each.
    await scan(client, clock, date(2024, 8, 28))
    [soon] = await published(url, "fangpin.employment.returnee.assistance_due_soon")
    assert soon["data"]["due_on"] == "2024-09-01" and soon["data"]["context"][
        "labourer_id"] == "b"
    await scan(client, clock, date(2024, 9, 2))
    await scan(client, clock, date(2024, 9, 3))
    [late] = await published(url, "fangpin.employment.returnee.assistance_overdue")
    assert late["data"]["days_overdue"] == 1

    # Graduates: of 脱贫 households only.
    r = await client.post("/api/v1/key-groups/graduates", headers=CHANGAN_TOWNSHIP, json={
        "labourer_id": "c", "key_group": "脱贫户高校未就业毕业生", "graduation_year": 2024,
        "since": "2024-07-01"})
    assert r.status_code == 201, r.text
    r = await client.post("/api/v1/labourers", headers=COUNTY, json={"member_id": "d"})
    assert r.status_code == 201
    r = await client.post("/api/v1/key-groups/graduates", headers=CHANGAN_TOWNSHIP, json={
        "labourer_id": "d", "key_group": "“雨露计划”未就业毕业生", "graduation_year": 2024})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "labourer_id"]
    groups = (await client.get("/api/v1/key-groups", headers=CHANGAN_TOWNSHIP)).json()
    assert sorted((g["labourer_id"], g["key_group"]) for g in groups) == [
        ("b", "返乡回流人员"), ("c", "脱贫户高校未就业毕业生")]
    form = (await client.get("/api/v1/forms/2024-09/townships/长安镇",
                             headers=CHANGAN_TOWNSHIP)).json()
    assert [(row[4], row[7], row[11]) for row in form["rows"]] == [
        ("丙", "脱贫户高校未就业毕业生", "未就业（本年度未采集务工信息）"),
        ("乙", "返乡回流人员", "返乡未就业"),
        ("甲", "其他", "未就业（本年度未采集务工信息）")]
