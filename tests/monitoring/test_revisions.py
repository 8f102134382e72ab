"""No lost update on households: ETag on reads, If-Match (or `revision`) on writes, 412 when
stale, 428 without; on SQLite and PostgreSQL (the `monitoring` fixture runs on both)."""

import asyncio
from datetime import date

from sqlalchemy import func, select

from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import auth, confirmed_case, token_for

from .conftest import household, member

TOWNSHIP = auth(token_for("township", "板榄镇"))
COUNTY = auth(token_for("county"))


def edit(read: dict, **changes) -> dict:
    body = {k: read[k] for k in ("village", "category", "monitoring_subcategory", "address",
                                 "phone")}
    return body | {"members": [dict(m) for m in read["members"]]} | changes


async def test_two_clerks_the_stale_write_gets_412_and_nothing_is_lost(monitoring):
    r = await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                              json=household(address="一组"))
    assert r.status_code == 201 and r.headers["etag"] == '"1"'
    hid = r.json()["id"]
    # Both clerks open the household at revision 1.
    first = await monitoring.get(f"/api/v1/households/{hid}", headers=COUNTY)
    second = await monitoring.get(f"/api/v1/households/{hid}", headers=COUNTY)
    assert first.headers["etag"] == second.headers["etag"] == '"1"'

    # The first adds a child and sends If-Match.
    body = edit(first.json())
    body["members"].append(member(name="韦小", born=date(2015, 1, 1), serial=3,
                                  relation="之子", labour="无劳动力"))
    r = await monitoring.put(f"/api/v1/households/{hid}", json=body,
                             headers=COUNTY | {"If-Match": first.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.headers["etag"] == '"2"' and r.json()["revision"] == 2

    # The second, from the stale copy, only changes the address: refused, in Chinese.
    stale = edit(second.json(), address="二组", revision=1)
    r = await monitoring.put(f"/api/v1/households/{hid}", json=stale, headers=COUNTY)
    assert r.status_code == 412, r.text
    assert r.headers["etag"] == '"2"'
    detail = r.json()["detail"]
    assert detail["current_revision"] == 2 and detail["your_revision"] == 1
    assert "已被他人修改" in detail["msg"] and "家庭成员" in detail["msg"]
    assert [c["revision"] for c in detail["changes"]] == [2]
    assert detail["changes"][0]["fields"] == ["家庭成员"]

    # Nothing lost: the child is there, the address untouched.
    now = (await monitoring.get(f"/api/v1/households/{hid}", headers=COUNTY)).json()
    assert now["revision"] == 2 and now["address"] == "一组"
    assert sorted(m["name"] for m in now["members"]) == ["韦小", "韦明"]

    # Re-read and retry: accepted, the child kept.
    r = await monitoring.put(f"/api/v1/households/{hid}", json=edit(now, address="二组"),
                             headers=COUNTY | {"If-Match": '"2"'})
    assert r.status_code == 200, r.text
    assert r.json()["address"] == "二组" and len(r.json()["members"]) == 2


async def test_a_write_without_revision_is_428_and_a_bad_if_match_is_refused(monitoring):
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household())).json()
    url = f"/api/v1/households/{created['id']}"
    r = await monitoring.put(url, json=edit(created), headers=COUNTY)
    assert r.status_code == 428 and "If-Match" in r.json()["detail"]["msg"]
    r = await monitoring.put(url, json=edit(created), headers=COUNTY | {"If-Match": "*"})
    assert r.status_code == 428
    r = await monitoring.put(url, json=edit(created, revision=2),
                             headers=COUNTY | {"If-Match": '"1"'})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "revision"]
    # A weak ETag names the same revision.
    r = await monitoring.put(url, json=edit(created), headers=COUNTY | {"If-Match": 'W/"1"'})
    assert r.status_code == 200
    r = await monitoring.put("/api/v1/households/nobody", json=edit(created, revision=1),
                             headers=COUNTY)
    assert r.status_code == 404


async def test_concurrent_writes_with_the_same_if_match_exactly_one_wins(monitoring):
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household(address="一组"))).json()
    url = f"/api/v1/households/{created['id']}"
    writes = [monitoring.put(url, json=edit(created, address=f"{i}组"),
                             headers=COUNTY | {"If-Match": '"1"'}) for i in range(2, 7)]
    responses = await asyncio.gather(*writes)
    codes = sorted(r.status_code for r in responses)
    assert codes == [200, 412, 412, 412, 412], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 200)
    now = (await monitoring.get(url, headers=COUNTY)).json()
    assert now["revision"] == 2 and now["address"] == winner["address"]
    # The losers wrote nothing: one audited update.
    async with monitoring.app.state.db.session() as session:
        updates = await session.scalar(select(func.count()).select_from(AUDIT_LOG).where(
            AUDIT_LOG.c.entity_id == created["id"], AUDIT_LOG.c.action == "update"))
    assert updates == 1


async def test_a_case_shows_its_revision_as_etag(monitoring):
    created = (await monitoring.post("/api/v1/households", headers=TOWNSHIP,
                                     json=household())).json()
    case = await confirmed_case(monitoring, created["id"], "2024-04-10")
    read = await monitoring.get(f"/api/v1/cases/{case['id']}", headers=TOWNSHIP)
    assert read.headers["etag"] == '"1"' and read.json()["revision"] == 1
    # Opening the case changed the household (now 监测户): its revision moved on.
    household_now = await monitoring.get(f"/api/v1/households/{created['id']}",
                                         headers=TOWNSHIP)
    assert household_now.headers["etag"] == '"2"'
