"""The provincial platform (X1): idempotent batch upserts and the change feed."""

import asyncio
import sqlite3
from datetime import date

import pytest
from sqlalchemy import text

from fangpin_common.db import Database
from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import eventually
from fangpin_monitoring.changes import service as changes

from .households_kit import (
    COUNTY,
    PLATFORM,
    TOWNSHIP,
    count,
    csv_bytes,
    events,
    person,
    quiet_app,
    row,
    start,
    state,
    upload,
)

UPSERTED = "fangpin.monitoring.household.upserted"


@pytest.fixture
async def app(database, nats_server, clock):
    context, client = await start(quiet_app(database, nats_server, clock))
    yield client
    await context.__aexit__(None, None, None)


def item(platform_id: str, version: int, serial: int, *, updated_at="2024-04-01T08:00:00+08:00",
         address="旧址", extra_members=()) -> dict:
    return {"platform_id": platform_id, "version": version, "updated_at": updated_at,
            "household": {"township": "板榄镇", "village": "板榄村", "category": "脱贫户",
                          "address": address, "members": [
                              {"name": f"户主{serial}", "relation": "户主",
                               "labour_capacity": "普通劳动力", **person(serial)},
                              *extra_members]}}


async def batch(client, *items):
    return await client.put("/api/v1/platform/households:batch", headers=PLATFORM,
                            json={"items": list(items)})


async def test_replaying_a_batch_changes_nothing_and_emits_nothing(app):
    first = [item("P1", 1, 1), item("P2", 1, 2)]
    r = await batch(app, *first)
    assert r.status_code == 200, r.text
    assert [i["status"] for i in r.json()["items"]] == ["created", "created"]
    ids = [i["household_id"] for i in r.json()["items"]]
    before = await state(app)
    assert len(await events(app, UPSERTED)) == 2
    r = await batch(app, *first)
    assert [i["status"] for i in r.json()["items"]] == ["unchanged", "unchanged"]
    assert [i["household_id"] for i in r.json()["items"]] == ids
    assert r.json()["counts"]["unchanged"] == 2
    assert await state(app) == before
    # Changes made by the platform are not echoed back in its feed.
    r = await app.get("/api/v1/platform/changes", headers=PLATFORM)
    assert r.json()["changes"] == []


async def test_an_older_version_never_overwrites_a_newer_one(app):
    r = await batch(app, item("P1", 3, 1, address="第三版"))
    household_id = r.json()["items"][0]["household_id"]
    r = await batch(app, item("P1", 2, 1, address="第二版"))
    assert r.json()["items"][0] | {"errors": None} == {
        "index": 0, "platform_id": "P1", "status": "stale", "household_id": household_id,
        "version": 2, "stored_version": 3, "errors": None}
    # Same version: the update time breaks the tie, both ways.
    r = await batch(app, item("P1", 3, 1, address="旧时间", updated_at="2024-03-01T00:00:00Z"))
    assert r.json()["items"][0]["status"] == "stale"
    r = await batch(app, item("P1", 3, 1, address="同版本新内容"))
    assert r.json()["items"][0]["status"] == "conflict"
    r = await batch(app, item("P1", 3, 1, address="新时间", updated_at="2024-04-02T08:00:00+08:00"),
                    item("P1", 4, 1, address="第四版"))
    assert [i["status"] for i in r.json()["items"]] == ["updated", "updated"]
    shown = (await app.get(f"/api/v1/households/{household_id}", headers=COUNTY)).json()
    assert shown["address"] == "第四版" and shown["revision"] == 3
    revisions = [e["data"]["revision"] for e in await events(app, UPSERTED)]
    assert sorted(revisions) == [1, 2, 3]  # one event per applied version, none for the rest


async def test_items_are_checked_one_by_one(app):
    bad_digit = item("P9", 1, 9)
    member = bad_digit["household"]["members"][0]
    member["id_number"] = member["id_number"][:17] + ("0" if member["id_number"][17] != "0"
                                                      else "1")
    bad_category = item("P8", 1, 8)
    bad_category["household"]["category"] = "富裕户"
    r = await batch(app, item("P1", 1, 1), bad_digit, bad_category,
                    item("P7", 1, 1))  # P7 claims the person P1 holds
    results = r.json()["items"]
    assert [i["status"] for i in results] == ["created", "rejected", "rejected", "rejected"]
    assert results[1]["errors"][0]["loc"] == ["body", "items", 1, "household", "members", 0,
                                              "id_number"]
    assert "校验位" in results[1]["errors"][0]["msg"]
    assert results[2]["errors"][0]["loc"] == ["body", "items", 2, "household", "category"]
    assert results[0]["household_id"] in results[3]["errors"][0]["msg"]
    assert len(await events(app, UPSERTED)) == 1


async def test_a_local_household_is_linked_not_duplicated(app):
    r = await app.post("/api/v1/households", headers=TOWNSHIP, json={
        "township": "板榄镇", "village": "板榄村", "category": "脱贫户", "members": [
            {"name": "户主1", "relation": "户主", "labour_capacity": "普通劳动力", **person(1)}]})
    local = r.json()["id"]
    r = await batch(app, item("P1", 1, 1, address="平台地址"))
    assert (r.json()["items"][0]["status"], r.json()["items"][0]["household_id"]) == (
        "updated", local)
    assert (await app.get(f"/api/v1/households/{local}", headers=COUNTY)).json()[
        "address"] == "平台地址"


async def test_bad_batches_are_refused_whole(app):
    before = await state(app)
    for body, loc in [({"items": []}, ["body", "items"]), ({}, ["body", "items"]),
                      ({"items": [item("P1", 1, 1)] * 1001}, ["body", "items"]),
                      ({"items": ["x"]}, ["body", "items", 0])]:
        r = await app.put("/api/v1/platform/households:batch", headers=PLATFORM, json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == loc
    r = await app.put("/api/v1/platform/households:batch", headers=TOWNSHIP,
                      json={"items": [item("P1", 1, 1)]})
    assert r.status_code == 403
    for cursor in ["nonsense", "djI6MTox", "-1"]:
        r = await app.get("/api/v1/platform/changes", headers=PLATFORM, params={"cursor": cursor})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "cursor"]
    assert await state(app) == before


async def read_all(client, limit=2, expect=None, cursor=None) -> tuple[list[dict], str]:
    """Page through the feed. On PostgreSQL the feed holds back while any older write
    transaction of the cluster is in flight (other tests' too): wait for `expect` changes."""
    seen: list[dict] = []

    async def more() -> bool:
        nonlocal cursor
        while True:
            params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
            page = (await client.get("/api/v1/platform/changes", headers=PLATFORM,
                                     params=params)).json()
            seen.extend(page["changes"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return expect is None or len(seen) >= expect

    await eventually(more)
    return seen, cursor


async def test_the_feed_lists_every_local_change_once_in_order(app):
    r = await app.post("/api/v1/households", headers=TOWNSHIP, json={
        "township": "板榄镇", "village": "板榄村", "category": "脱贫户", "members": [
            {"name": "本地户", "relation": "户主", "labour_capacity": "普通劳动力", **person(1)}]})
    local = r.json()["id"]
    await upload(app, csv_bytes([row("1", "导入一", 2), row("2", "导入二", 3)]))
    await batch(app, item("P9", 1, 9))
    r = await app.post("/api/v1/cases", headers=TOWNSHIP, json={
        "household_id": local, "inclusion_date": "2024-04-10", "category": "边缘易致贫户",
        "risk_types": ["因病"]})
    assert r.status_code == 201
    seen, cursor = await read_all(app, expect=4)
    assert [(c["household"]["head_name"], c["origin"], c["revision"]) for c in seen] == [
        ("本地户", "local", 1), ("导入一", "import", 1), ("导入二", "import", 1),
        ("本地户", "local", 2)]
    # Each change carries the revision it made and the household as it is now.
    assert seen[0]["household"]["revision"] == 2 and seen[0]["household"]["category"] == "监测户"
    assert "*" not in seen[0]["household"]["members"][0]["id_number"]  # the platform sees IDs
    # Nothing new: the cursor stays; a new change appears after it, and only it.
    page = (await app.get("/api/v1/platform/changes", headers=PLATFORM,
                          params={"cursor": cursor})).json()
    assert page["changes"] == [] and page["next_cursor"] == cursor
    await upload(app, csv_bytes([row("3", "导入三", 4)]))
    seen, _ = await read_all(app, expect=1, cursor=cursor)
    assert [c["household"]["head_name"] for c in seen] == ["导入三"]
    assert (await app.get("/api/v1/platform/changes", headers=TOWNSHIP)).status_code == 403


async def test_a_change_committed_late_is_not_skipped(app, backend):
    """Two writers: T1 logs its change first but commits last. A reader between the two
    commits must not move its cursor past T1's row."""
    db: Database = app.app.state.db
    now = app.app.state.clock.now()
    if backend == "sqlite":
        # SQLite has one writer at a time: T2 cannot even start writing while T1 is open.
        async with db.unit_of_work() as t1:
            await changes.record(t1, [("h-early", 1)], "local", now)
            other = sqlite3.connect(db.engine.url.database, timeout=0.1)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
        seen, _ = await read_all(app, expect=1)
        assert [c["household_id"] for c in seen] == ["h-early"]
        return
    t1 = db.session()
    await changes.record(t1, [("h-early", 1)], "local", now)  # takes the smaller seq and txid
    async with db.unit_of_work() as t2:
        await changes.record(t2, [("h-late", 1)], "local", now)
    async with db.session() as s:
        rows = (await s.execute(text("SELECT household_id, seq FROM household_changes"))).all()
    assert {r.household_id for r in rows} == {"h-late"}  # T1's row is not visible yet …
    page = (await app.get("/api/v1/platform/changes", headers=PLATFORM)).json()
    assert page["changes"] == []  # … and T2's is held back until T1 ends
    cursor = page["next_cursor"]
    await t1.commit()
    await t1.close()
    seen, _ = await read_all(app, expect=2, cursor=cursor)
    assert [c["household_id"] for c in seen] == ["h-early", "h-late"]


async def test_concurrent_writers_lose_nothing(app, backend):
    """Many concurrent transactions of random length; paging all the while; at the end the
    reader has seen every change exactly once."""
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers; the race needs concurrent ones")
    db: Database = app.app.state.db
    now = app.app.state.clock.now()
    written = [f"h{i}" for i in range(60)]

    async def writer(i: int) -> None:
        async with db.unit_of_work() as session:
            await changes.record(session, [(written[i], 1)], "local", now)
            await asyncio.sleep((i * 7 % 5) * 0.01)

    seen: list[str] = []
    cursor = None

    async def read_once() -> None:
        nonlocal cursor
        params = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        page = (await app.get("/api/v1/platform/changes", headers=PLATFORM,
                              params=params)).json()
        seen.extend(c["household_id"] for c in page["changes"])
        cursor = page["next_cursor"]

    tasks = [asyncio.create_task(writer(i)) for i in range(len(written))]
    while not all(t.done() for t in tasks):
        await read_once()
        await asyncio.sleep(0.005)
    await asyncio.gather(*tasks)

    async def complete() -> bool:
        await read_once()
        return len(seen) >= len(written)

    await eventually(complete)
    assert sorted(seen) == sorted(written)  # every change, none twice
    assert await count(app, AUDIT_LOG) == 0
    assert date.today()
