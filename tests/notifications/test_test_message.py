"""A test message to a unit: sent at once on the channel asked for, to the address the
directory holds; a unit without that address, or a failing robot, is told so in Chinese."""

from fangpin_common.testing import auth, running, settings_for, token_for
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import TOWNSHIP_UNIT, county_file

COUNTY = auth(token_for("county"))
TOWNSHIP = auth(token_for("township", "板榄镇"))


async def test_test_message_reaches_the_robot(database, nats_server, tmp_path, receiver):
    settings = settings_for(NotificationsSettings, database, nats_server.url,
                            county_config=county_file(tmp_path, []), run_consumers=False)
    async with running(create_app(settings)) as client:
        path = f"/api/v1/directory/units/{TOWNSHIP_UNIT}/test-message"
        r = await client.post(path, json={"channel": "wecom"}, headers=COUNTY)
        assert r.status_code == 422
        assert r.json()["detail"][0]["loc"] == ["body", "channel"]
        assert "尚未设置企业微信群机器人地址" in r.json()["detail"][0]["msg"]

        unit = f"/api/v1/directory/units/{TOWNSHIP_UNIT}"
        etag = (await client.get(unit, headers=COUNTY)).headers["etag"]
        r = await client.patch(unit, json={"wecom_webhook": receiver.url("/wecom")},
                               headers=COUNTY | {"If-Match": etag})
        assert r.status_code == 200, r.text
        r = await client.post(path, json={"channel": "wecom"}, headers=TOWNSHIP)
        assert r.status_code == 403
        r = await client.post(path, json={"channel": "wecom"}, headers=COUNTY)
        assert r.status_code == 200 and r.json()["sent"] is True, r.text
        [got] = receiver.to("/wecom")
        assert "测试消息" in got.json()["markdown"]["content"] or "测试消息" in got.body.decode()

        receiver.script("/wecom", (200, {"errcode": 93000, "errmsg": "invalid webhook url"}))
        r = await client.post(path, json={"channel": "wecom"}, headers=COUNTY)
        assert r.json()["sent"] is False and r.json()["detail"].startswith("发送失败")
