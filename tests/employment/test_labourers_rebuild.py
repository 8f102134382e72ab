"""The labourers read model: revisions, removed and deceased members, county additions, and a
rebuild from the stream that reproduces it exactly (admin endpoint and CLI function)."""

from datetime import UTC, date, datetime, timedelta

import nats

from fangpin_common.testing import eventually
from fangpin_employment import cli
from fangpin_employment.labourers import service

from .conftest import COUNTY, case_opened, household, member, publish

T0 = datetime(2024, 4, 1, 2, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def read_model(app) -> dict:
    async with app.state.db.session() as session:
        return await service.snapshot(session)


async def test_revisions_removals_and_rebuild(employment, clock):
    client, url = employment, employment.nats_url
    born = date(1980, 1, 1)
    events = [
        household("h1", [member("a", "甲", born), member("b", "乙", born)], revision=1, at=at(1)),
        household("h1", [member("a", "甲", born, deceased=True), member("c", "丙", born)],
                  revision=3, at=at(3)),
        # Older than what is known: never overwrites the newer revision.
        household("h1", [member("a", "甲", born), member("b", "乙改名", born)], revision=2,
                  at=at(2)),
        # The same revision again (a republish): ignored.
        household("h1", [member("a", "甲甲", born)], revision=3, at=at(4)),
        household("h2", [member("g", "庚", born)], category="一般农户", at=at(5)),
        case_opened("h3", date(2024, 3, 1), village="江边村"),
        household("h3", [member("h", "辛", born, capacity="弱劳力")], village="江边村",
                  category="监测户", subcategory="脱贫不稳定户", at=at(6)),
        household("h5", [member("j", "壬", born), member("k", "癸", born)], revision=1, at=at(7)),
        household("h5", [member("j", "壬", born)], revision=2, at=at(8)),
        household("h5", [member("j", "壬", born), member("k", "癸", born, sex="女")],
                  revision=3, at=at(9)),
    ]
    await publish(url, events)

    async def applied():
        model = await read_model(client.app)
        households = {row[0]: row for row in model["lab_households"]}
        return model if households.get("h5", (0,) * 8)[5] == 3 else None

    model = await eventually(applied)
    rows = {r.id: r for r in await _labourers(client.app)}
    assert (rows["a"].name, rows["a"].active, rows["a"].inactive_reason) == ("甲", False, "已故")
    assert (rows["b"].name, rows["b"].removed, rows["b"].revision) == ("乙", True, 3)
    assert rows["c"].active and rows["c"].revision == 3
    assert (rows["g"].active, rows["g"].inactive_reason) == (False, "非脱贫户或监测户")
    assert rows["h"].active and rows["h"].monitoring_subcategory == "脱贫不稳定户"
    assert rows["k"].active and not rows["k"].removed and rows["k"].sex == "女"
    households = {row[0]: row for row in model["lab_households"]}
    assert households["h3"][5] == 1 and households["h3"][6] == date(2024, 3, 1)

    # The county counts an ordinary household's member, and adds a person monitoring lacks.
    r = await client.post("/api/v1/labourers", headers=COUNTY, json={"member_id": "g"})
    assert r.status_code == 201 and r.json()["active"] is True
    r = await client.post("/api/v1/labourers", headers=COUNTY, json={
        "township": "长安镇", "village": "长安村", "name": "外来工", "sex": "男",
        "birth_date": "1990-01-01"})
    assert r.status_code == 201, r.text
    added = r.json()["id"]
    before = await read_model(client.app)

    # Rebuild through the admin endpoint: the same read model, row for row.
    r = await client.post("/api/v1/admin/labourers/rebuild", headers=COUNTY)
    assert r.status_code == 200, r.text
    assert r.json()["events"] == len(events) and r.json()["households"] == 4
    assert await read_model(client.app) == before
    # … and through the CLI function, in small batches (revisions spread over batches).
    report = await cli.rebuild_labourers(client.app.state.settings, batch=3)
    assert report.events == len(events)
    assert await read_model(client.app) == before
    ids = {x["id"] for x in (await client.get("/api/v1/labourers", headers=COUNTY)).json()}
    assert ids == {"c", "g", "h", "j", "k", added}

    # A stream that lost its first messages (retention) would lose households: refused.
    nc = await nats.connect(url)
    try:
        await nc.jetstream().delete_msg("FANGPIN_MONITORING", 1)
    finally:
        await nc.close()
    r = await client.post("/api/v1/admin/labourers/rebuild", headers=COUNTY)
    assert r.status_code == 409 and "不完整" in r.json()["detail"]
    assert await read_model(client.app) == before
    r = await client.post("/api/v1/admin/labourers/rebuild", headers=COUNTY,
                          params={"force": True})
    assert r.status_code == 200 and r.json()["events"] == len(events) - 1


async def _labourers(app):
    from sqlalchemy import select

    from fangpin_employment.labourers.models import Labourer

    async with app.state.db.session() as session:
        return list((await session.execute(select(Labourer))).scalars())
