"""The directory: seeded from the county file, edited by the county through the API, edits
kept across restarts (the seed never overwrites them)."""

import asyncio

from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import auth, running, settings_for, token_for
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import TOWNSHIP_UNIT, count, county_file

COUNTY = auth(token_for("county"))
TOWNSHIP = auth(token_for("township", "板榄镇"))

UNITS = [{"code": "paired.power_supply", "name": "融安供电局", "level": "paired",
          "parent": "county.rural_revitalisation", "email": "gd@power.example",
          "mobile": "13700000003",
          "people": [{"name": "覃队长", "title": "驻村工作队队长", "mobile": "13600000004"}]}]


async def test_seed_edit_and_persist(database, nats_server, tmp_path):
    settings = settings_for(NotificationsSettings, database, nats_server.url,
                            county_config=county_file(tmp_path, [], UNITS),
                            run_consumers=False)
    async with running(create_app(settings)) as client:
        units = {u["code"]: u for u in (await client.get("/api/v1/directory/units",
                                                         headers=COUNTY)).json()}
        # Config units, the township governments and the paired unit with its person.
        assert units["county.rural_revitalisation"]["level"] == "county"
        assert units[TOWNSHIP_UNIT]["name"] == "板榄镇人民政府"
        assert units[TOWNSHIP_UNIT]["parent"] == "county.rural_revitalisation"
        paired = units["paired.power_supply"]
        assert paired["people"][0]["name"] == "覃队长"
        assert paired["people"][0]["mobile"] == "13600000004"
        # Others see the directory with mobile numbers masked.
        shown = (await client.get("/api/v1/directory/units/paired.power_supply",
                                  headers=TOWNSHIP)).json()
        assert shown["mobile"] == "137****0003" and shown["people"][0]["mobile"] == "136****0004"

        # Only the county edits; bad contacts and parents are refused precisely.
        r = await client.patch("/api/v1/directory/units/paired.power_supply",
                               json={"email": "x@y.example"}, headers=TOWNSHIP)
        assert r.status_code == 403
        for body, loc, fragment in [
            ({"email": "not-an-address"}, ["body", "email"], "电子邮件"),
            ({"mobile": "12345"}, ["body", "mobile"], "手机号码"),
            ({"webhook_url": "ftp://x"}, ["body", "webhook_url"], "http(s)"),
            ({"parent": "paired.power_supply"}, ["body", "parent"], "循环"),
            ({"parent": "county.nowhere"}, ["body", "parent"], "不存在"),
        ]:
            r = await client.patch("/api/v1/directory/units/paired.power_supply",
                                   json=body | {"revision": 1}, headers=COUNTY)
            assert r.status_code == 422, r.text
            assert r.json()["detail"][0]["loc"] == loc and fragment in r.json()["detail"][0]["msg"]
        r = await client.patch(f"/api/v1/directory/units/{TOWNSHIP_UNIT}",
                               json={"parent": "village.x", "revision": 1}, headers=COUNTY)
        assert r.status_code == 422

        r = await client.patch("/api/v1/directory/units/paired.power_supply",
                               json={"email": "duty@power.example",
                                     "dingtalk_webhook": "https://oapi.dingtalk.com/robot/send?access_token=t",
                                     "dingtalk_secret": "SECxyz"},
                               headers=COUNTY | {"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        assert r.headers["etag"] == '"2"' and r.json()["revision"] == 2
        assert r.json()["has_dingtalk_secret"] is True and "dingtalk_secret" not in r.json()
        r = await client.post("/api/v1/directory/units", headers=COUNTY, json={
            "code": "village.450224103201", "name": "板榄村村民委员会", "level": "village",
            "parent": TOWNSHIP_UNIT, "township": "450224103", "village": "450224103201"})
        assert r.status_code == 201, r.text
        r = await client.post("/api/v1/directory/units/village.450224103201/people",
                              headers=COUNTY, json={"name": "黄网格员", "mobile": "13500000005"})
        assert r.status_code == 201
        person = r.json()["id"]
        r = await client.patch(f"/api/v1/directory/people/{person}", headers=COUNTY,
                               json={"email": "bad", "revision": 1})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"]
        assert (await client.post("/api/v1/directory/units", headers=COUNTY, json={
            "code": TOWNSHIP_UNIT, "name": "x", "level": "township"})).status_code == 409
        app = client._transport.app
        # two unit changes and one person; the county's full view of the paired unit's
        # numbers (the first listing) is recorded as a full read
        assert await count(app, AUDIT_LOG, AUDIT_LOG.c.action != "read_full") == 3
        assert await count(app, AUDIT_LOG, AUDIT_LOG.c.action == "read_full",
                           AUDIT_LOG.c.entity_id == "paired.power_supply") == 1

    # Restarted with the same file: the edits stay, the seed does not undo them.
    async with running(create_app(settings)) as client:
        paired = (await client.get("/api/v1/directory/units/paired.power_supply",
                                   headers=COUNTY)).json()
        assert paired["email"] == "duty@power.example" and paired["source"] == "config"
        village = (await client.get("/api/v1/directory/units/village.450224103201",
                                    headers=COUNTY)).json()
        assert village["people"][0]["name"] == "黄网格员"


async def test_two_editors_of_a_unit_the_stale_one_gets_412(database, nats_server, tmp_path):
    settings = settings_for(NotificationsSettings, database, nats_server.url,
                            county_config=county_file(tmp_path, [], UNITS),
                            run_consumers=False)
    async with running(create_app(settings)) as client:
        url = "/api/v1/directory/units/paired.power_supply"
        read = await client.get(url, headers=COUNTY)
        assert read.headers["etag"] == '"1"' and read.json()["revision"] == 1
        r = await client.patch(url, json={"email": "a@power.example"}, headers=COUNTY)
        assert r.status_code == 428
        r = await client.patch(url, json={"email": "a@power.example"},
                               headers=COUNTY | {"If-Match": read.headers["etag"]})
        assert r.status_code == 200 and r.headers["etag"] == '"2"'
        r = await client.patch(url, json={"mobile": "13700000009", "revision": 1},
                               headers=COUNTY)
        assert r.status_code == 412 and r.json()["detail"]["current_revision"] == 2
        assert "电子邮箱" in r.json()["detail"]["msg"]
        now = (await client.get(url, headers=COUNTY)).json()
        assert now["email"] == "a@power.example" and now["mobile"] == "13700000003"
        person = now["people"][0]
        assert person["revision"] == 1
        writes = [client.patch(f"/api/v1/directory/people/{person['id']}", headers=COUNTY,
                               json={"title": f"队长{i}", "revision": 1}) for i in range(3)]
        codes = sorted(r.status_code for r in await asyncio.gather(*writes))
        assert codes == [200, 412, 412]
