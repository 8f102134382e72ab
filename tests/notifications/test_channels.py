"""Every channel against a real peer on loopback: SMTP server, robots, webhook, SMS gateway.
The peers fail the first attempts to prove retries; a refused address fails only its delivery."""

import base64
import hashlib
import hmac
from datetime import date
from urllib.parse import parse_qs

from sqlmodel import select

from fangpin_common.clock import BUSINESS_TZ, SettableClock
from fangpin_common.events.monitoring import CaseHelperOverdue, CasePlanDueSoon
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_notifications.channels.webhook import verify
from fangpin_notifications.deliveries.dispatcher import Dispatcher
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import (
    TOWNSHIP_UNIT,
    count,
    county_file,
    deadline,
    fast_channels,
    metric,
    publish,
)

COUNTY = auth(token_for("county"))
TOWNSHIP_TOKEN = auth(token_for("township", "板榄镇"))
DING_SECRET = "SEC-test-secret"
HOOK_SECRET = "hook-secret-of-banlan"
ALL = ["inbox", "email", "wecom", "dingtalk", "webhook", "sms"]


def units(receiver) -> list[dict]:
    return [
        {"code": TOWNSHIP_UNIT, "name": "板榄镇人民政府", "level": "township",
         "parent": "county.rural_revitalisation", "township": "450224103",
         "email": "banlan@gov.example", "mobile": "13800000001",
         "wecom_webhook": receiver.url("/wecom") + "?key=abc",
         "dingtalk_webhook": receiver.url("/dingtalk") + "?access_token=tok",
         "dingtalk_secret": DING_SECRET, "webhook_url": receiver.url("/hook"),
         "webhook_secret": HOOK_SECRET,
         "people": [{"name": "韦主任", "title": "防贫办主任", "email": "wei@gov.example",
                     "mobile": "13900000002"}]},
        # A unit whose only address the mail server refuses.
        {"code": "county.hrss", "name": "县人力资源和社会保障局", "level": "county",
         "email": "nobody@hrss.example"},
    ]


ROUTING = [{
    "event": "fangpin.monitoring.case.helper_overdue", "recipients": ["township", "county.hrss"],
    "channels": ALL, "title": "【已逾期】{township_name}监测户未安排帮扶责任人",
    "template": "【已逾期】监测户（户编号 {household_id}）期限 {due_on}，已逾期 {days_overdue} 天，"
                "请{unit_name}立即落实。"}]


def app_for(database, nats_url, tmp_path, smtp, receiver, clock=None, routing=ROUTING, **extra):
    settings = settings_for(
        NotificationsSettings, database, nats_url,
        county_config=county_file(tmp_path, routing, units(receiver)),
        smtp_host="127.0.0.1", smtp_port=smtp.port, channels=fast_channels(),
        sms={"url": receiver.url("/sms"), "method": "POST",
             "headers": {"X-Api-Key": "k"},
             "body": {"PhoneNumbers": "{mobiles}", "Text": "{text}", "OutId": "{delivery_id}",
                      "To": "{mobile_list}"},
             "success_field": "Code", "success_values": ["OK"]},
        dispatcher_idle_seconds=0.05, **extra)
    return create_app(settings, clock)


async def test_every_channel_with_retries_and_a_dead_letter(database, own_nats, tmp_path, smtp,
                                                            receiver):
    smtp.refuse.add("nobody@hrss.example")
    receiver.script("/wecom", (500, {"error": "busy"}), (500, {"error": "busy"}))
    receiver.script("/dingtalk", (200, {"errcode": 130101, "errmsg": "send too fast"}))
    receiver.script("/hook", (503, {}), (503, {}))
    receiver.script("/sms", (200, {"Code": "isv.BUSINESS_LIMIT_CONTROL"}))
    app = app_for(database, own_nats.url, tmp_path, smtp, receiver)
    async with running(app) as client:
        event = CaseHelperOverdue(subject="case-1", data=deadline())
        await publish(own_nats.url, event)

        async def township_done():
            return await count(app, Delivery, Delivery.recipient_unit == TOWNSHIP_UNIT,
                               Delivery.state == "sent") == 5
        await eventually(township_done)

        # E-mail: one message to the unit and its person, subject and body as the rule says.
        [mail] = [m for m in smtp.messages if "banlan@gov.example" in m["X-Envelope-To"]]
        assert mail["Subject"] == "【已逾期】板榄镇监测户未安排帮扶责任人"
        assert set(mail["X-Envelope-To"].split(", ")) == {"banlan@gov.example", "wei@gov.example"}
        text = mail.get_content()
        assert "户编号 hh-1" in text and "已逾期 1 天" in text and "请板榄镇人民政府立即落实" in text

        # WeCom: markdown, two failures then success.
        wecom = receiver.to("/wecom")
        assert len(wecom) == 3 and wecom[0].query == "key=abc"
        assert wecom[-1].json()["msgtype"] == "markdown"
        assert "户编号 hh-1" in wecom[-1].json()["markdown"]["content"]

        # DingTalk: every request signed as DingTalk documents it.
        ding = receiver.to("/dingtalk")
        assert len(ding) == 2
        for r in ding:
            q = parse_qs(r.query)
            assert q["access_token"] == ["tok"]
            ts = q["timestamp"][0]
            expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                                 hashlib.sha256).digest()).decode()
            assert q["sign"] == [expected]
            assert r.json()["markdown"]["title"] == "【已逾期】板榄镇监测户未安排帮扶责任人"

        # Webhook: signature verifies with the unit's secret, not with another; same delivery id.
        hooks = receiver.to("/hook")
        assert len(hooks) == 3
        assert all(verify(HOOK_SECRET, h.headers, h.body) for h in hooks)
        assert not verify("another-secret", hooks[0].headers, hooks[0].body)
        assert len({h.headers["x-fangpin-delivery"] for h in hooks}) == 1
        body = hooks[-1].json()
        assert body["event_id"] == event.id and body["recipient_unit"] == TOWNSHIP_UNIT
        assert body["data"]["event"]["household_id"] == "hh-1"

        # SMS: the gateway's request shape comes from configuration.
        sms = receiver.to("/sms")
        assert len(sms) == 2 and sms[-1].headers["x-api-key"] == "k"
        req = sms[-1].json()
        assert req["PhoneNumbers"] == "13800000001,13900000002"
        assert req["To"] == ["13800000001", "13900000002"]
        assert "户编号 hh-1" in req["Text"]
        sms_delivery = (await client.get("/admin/deliveries", headers=COUNTY,
                                         params={"state": "sent", "channel": "sms"})).json()
        assert req["OutId"] == sms_delivery[0]["id"]  # the gateway's idempotency key

        # The log records every attempt; the refused address is a dead letter after one try.
        r = await client.get("/admin/deliveries", params={"state": "sent", "channel": "wecom"},
                             headers=COUNTY)
        [wecom_delivery] = r.json()
        log = (await client.get(f"/admin/deliveries/{wecom_delivery['id']}",
                                headers=COUNTY)).json()["log"]
        assert [a["outcome"] for a in log] == ["retry", "retry", "sent"]
        assert log[0]["status"] == "500"

        async def dead():
            r = await client.get("/admin/deliveries", headers=COUNTY)
            return r.json()
        [letter] = await eventually(dead)
        assert letter["recipient_unit"] == "county.hrss" and letter["channel"] == "email"
        assert letter["attempts"] == 1 and "550" in letter["last_error"]
        assert (await client.get("/admin/deliveries", headers=TOWNSHIP_TOKEN)).status_code == 403

        # Metrics per channel and rule.
        rule = "fangpin.monitoring.case.helper_overdue"
        assert metric(app, "fangpin_notifications_retried_total", channel="wecom", rule=rule) == 2
        assert metric(app, "fangpin_notifications_sent_total", channel="email", rule=rule) == 1
        assert metric(app, "fangpin_notifications_dead_lettered_total", channel="email") == 1
        assert metric(app, "fangpin_notifications_delivery_latency_seconds_count",
                      channel="sms") == 1
        assert metric(app, "fangpin_notifications_sent_total", channel="inbox") == 2
        exposed = (await client.get("/metrics")).text
        assert "fangpin_notifications_failed_total" in exposed

        # The operator fixes the address and resends the dead letter.
        r = await client.patch("/api/v1/directory/units/county.hrss",
                               json={"email": "hrss@gov.example"},
                               headers=COUNTY | {"If-Match": '"1"'})
        assert r.status_code == 200, r.text
        r = await client.post(f"/admin/deliveries/{letter['id']}/resend", headers=COUNTY)
        assert r.status_code == 200 and r.json()["state"] == "pending"
        await eventually(lambda: any("hrss@gov.example" in m["X-Envelope-To"]
                                     for m in smtp.messages))
        r = await client.post(f"/admin/deliveries/{letter['id']}/resend", headers=COUNTY)
        assert r.status_code == 409  # sent now: nothing to resend
        assert len(smtp.messages) == 2


async def test_sms_waits_for_the_morning(database, own_nats, tmp_path, smtp, receiver):
    clock = SettableClock()
    clock.set_today(date(2024, 4, 10), hour=23)
    routing = [{"event": "fangpin.monitoring.case.plan_due_soon", "recipients": ["township"],
                "channels": ["inbox", "sms", "webhook"], "template": "须于 {due_on} 前制定帮扶计划。"}]
    quiet = fast_channels(sms={"quiet_hours": ["22:00", "08:00"]})
    settings = settings_for(
        NotificationsSettings, database, own_nats.url,
        county_config=county_file(tmp_path, routing, units(receiver)), channels=quiet,
        sms={"url": receiver.url("/sms")}, dispatcher_idle_seconds=0.05)
    app = create_app(settings, clock)
    async with running(app):
        await publish(own_nats.url, CasePlanDueSoon(subject="case-2", data=deadline("case.plan", 2)))
        await eventually(lambda: len(receiver.to("/hook")) == 1)  # no quiet hours for webhooks
        dispatcher = Dispatcher(app.state.notifier)
        assert (await dispatcher.dispatch_once("sms"))[0] == 0
        async with app.state.db.session() as session:
            held = (await session.exec(select(Delivery).where(Delivery.channel == "sms"))).one()
        assert held.state == "pending"
        assert held.available_at.astimezone(BUSINESS_TZ).strftime("%d %H:%M") == "11 08:00"
        clock.set_today(date(2024, 4, 11), hour=7)
        assert (await dispatcher.dispatch_once("sms"))[0] == 0 and receiver.to("/sms") == []
        clock.set_today(date(2024, 4, 11), hour=8)
        await dispatcher.dispatch_once("sms")
        await eventually(lambda: len(receiver.to("/sms")) == 1)
        assert "须于 2024-04-06 前制定帮扶计划" in receiver.to("/sms")[0].json()["content"]
