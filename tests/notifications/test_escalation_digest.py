"""Escalation (N2) and the daily digest, driven by a SettableClock (no sleeps), each scanned by
two replicas at once to show it happens exactly once."""

import asyncio
from datetime import date, timedelta

from fangpin_common.clock import SettableClock
from fangpin_common.events.monitoring import CaseHelperOverdue, CasePlanDueSoon
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_notifications.digest import service as digest
from fangpin_notifications.escalation import service as escalation
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.main import create_app
from fangpin_notifications.runtime import Notifier
from fangpin_notifications.settings import NotificationsSettings

from .conftest import (
    TOWNSHIP_UNIT,
    count,
    county_file,
    deadline,
    fast_channels,
    metric,
    publish,
    stream_events,
)

DAY = date(2024, 4, 10)
VILLAGE = auth(token_for("village", "板榄镇", village="板榄村"))
TOWNSHIP = auth(token_for("township", "板榄镇"))
OTHER_TOWNSHIP = auth(token_for("township", "长安镇"))
COUNTY = auth(token_for("county"))


def replica(app):
    """A second instance of the service on the same database (its own engine and notifier)."""
    other = create_app(app.state.settings, app.state.clock)
    return Notifier.of(other.state.ctx), other


async def inbox(client, headers, **params) -> list[dict]:
    r = await client.get("/api/v1/inbox", headers=headers, params=params)
    assert r.status_code == 200, r.text
    return r.json()


ESCALATING = [{"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["village"],
               "channels": ["inbox"], "title": "【已逾期】未安排帮扶责任人",
               "template": "【已逾期】监测户（户编号 {household_id}）未安排帮扶责任人，已逾期 {days_overdue} 天。",
               "escalate": {"after_hours": 24, "max_levels": 2}}]


async def test_unanswered_reminder_climbs_village_township_county(database, own_nats, tmp_path):
    clock = SettableClock()
    clock.set_today(DAY, hour=9)
    settings = settings_for(NotificationsSettings, database, own_nats.url,
                            county_config=county_file(tmp_path, ESCALATING),
                            escalation_interval_seconds=3600)
    app = create_app(settings, clock)
    async with running(app) as client:
        notifier = app.state.notifier
        other, other_app = replica(app)
        await publish(own_nats.url,
                      CaseHelperOverdue(subject="c1", time=clock.now(), data=deadline(n=1)),
                      CaseHelperOverdue(subject="c2", time=clock.now(), data=deadline(n=2)))
        village_items = await eventually(
            lambda: _at_least(inbox(client, VILLAGE), 2))
        answered = next(i for i in village_items if i["household_id"] == "hh-1")
        r = await client.post(f"/api/v1/inbox/{answered['id']}/acknowledge", headers=VILLAGE)
        assert r.json()["state"] == "acknowledged" and r.json()["escalate_at"] is None

        clock.advance(timedelta(hours=23))
        assert await escalation.scan(notifier) == 0

        # A day later the unanswered one goes up a level — once, though two replicas scan.
        clock.advance(timedelta(hours=2))
        results = await asyncio.gather(escalation.scan(notifier), escalation.scan(other))
        assert sorted(results) == [0, 1]
        [up] = await inbox(client, TOWNSHIP)
        assert up["level"] == 1 and up["household_id"] == "hh-2"
        assert up["event_type"] == "fangpin.notifications.reminder.escalated"
        assert up["body"].startswith("【逾期未处理·上报】板榄村村民委员会收到的以下提醒")
        assert "超过25小时未确认" in up["body"] and "户编号 hh-2" in up["body"]
        assert up["escalated_from"] and up["origin_event_id"]
        assert await inbox(client, OTHER_TOWNSHIP) == []

        # The escalation is announced on the service's stream (through the outbox).
        async def announced():
            events = await stream_events(own_nats.url, "FANGPIN_NOTIFICATIONS")
            return [e for e in events if e["type"] == "fangpin.notifications.reminder.escalated"]
        [event] = await eventually(announced)
        assert event["data"]["from_unit"] == "village.板榄村"
        assert event["data"]["to_unit"] == TOWNSHIP_UNIT and event["data"]["level"] == 1

        # Nobody at the township answers either: next it reaches the county, then stops.
        clock.advance(timedelta(hours=25))
        assert await escalation.scan(notifier) == 1
        county_items = [i for i in await inbox(client, COUNTY) if i["level"] == 2]
        assert len(county_items) == 1 and county_items[0]["household_id"] == "hh-2"
        clock.advance(timedelta(days=5))
        assert await escalation.scan(notifier) == 0
        assert metric(app, "fangpin_notifications_escalated_total") + metric(
            other_app, "fangpin_notifications_escalated_total") == 2
        assert await count(app, Reminder) == 4
        await other_app.state.db.dispose()


async def _at_least(items, n):
    items = await items
    return items if len(items) >= n else None


DIGESTING = [{"event": "fangpin.monitoring.case.plan_due_soon", "recipients": ["township"],
              "channels": ["inbox", "email"], "digest": True,
              "title": "【即将到期】监测户须于 {due_on} 前制定帮扶计划",
              "template": "【即将到期】监测户（户编号 {household_id}）须于 {due_on} 前制定帮扶计划。"},
             {"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["township"],
              "channels": ["inbox", "email"], "digest": True,
              "title": "【已逾期】监测户未安排帮扶责任人",
              "template": "【已逾期】监测户（户编号 {household_id}）未安排帮扶责任人。"}]


async def test_one_digest_per_unit_and_day(database, own_nats, tmp_path, smtp, dispatch_rounds):
    clock = SettableClock()
    clock.set_today(DAY, hour=7)
    units = [{"code": TOWNSHIP_UNIT, "name": "板榄镇人民政府", "level": "township",
              "parent": "county.rural_revitalisation", "township": "450224103",
              "email": "banlan@gov.example"}]
    settings = settings_for(NotificationsSettings, database, own_nats.url,
                            county_config=county_file(tmp_path, DIGESTING, units),
                            smtp_host="127.0.0.1", smtp_port=smtp.port, channels=fast_channels(),
                            dispatcher_idle_seconds=0.05, digest_interval_seconds=3600)
    app = create_app(settings, clock)
    async with running(app) as client:
        notifier = app.state.notifier
        other, other_app = replica(app)
        await publish(own_nats.url,
                      CasePlanDueSoon(subject="c1", data=deadline("case.plan", 1, days_overdue=0)),
                      CasePlanDueSoon(subject="c2", data=deadline("case.plan", 2, days_overdue=0)),
                      CaseHelperOverdue(subject="c3", data=deadline("case.helper", 3)),
                      CasePlanDueSoon(subject="c4", data=deadline("case.plan", 4, days_overdue=0,
                                                                  township="450224100")))
        await eventually(lambda: _count_is(app, 4))
        await dispatch_rounds.two_more("email")  # a round begun after the reminders were stored
        assert smtp.messages == []  # digest rules send nothing one by one

        assert await digest.run_if_due(notifier) is None  # 07:00: not yet
        clock.set_today(DAY, hour=9)
        results = await asyncio.gather(digest.run_if_due(notifier), digest.run_if_due(other))
        assert sorted(results, key=str) == [2, None]  # two units, composed once
        assert await digest.run_if_due(notifier) is None

        [summary] = [i for i in await inbox(client, TOWNSHIP)
                     if i["event_type"] == "fangpin.notifications.digest"]
        assert "3 条提醒尚未确认处理，其中已逾期 1 条" in summary["body"]
        assert summary["body"].index("hh-3") < summary["body"].index("hh-1")  # overdue first
        changan = [i for i in await inbox(client, OTHER_TOWNSHIP)
                   if i["event_type"] == "fangpin.notifications.digest"]
        assert len(changan) == 1 and "1 条提醒" in changan[0]["body"]

        # One e-mail for the township (长安镇 has no address: its digest stays in the inbox).
        await eventually(lambda: len(smtp.messages) == 1)
        assert smtp.messages[0]["Subject"].startswith("【每日汇总】板榄镇人民政府 2024-04-10")
        assert "户编号 hh-2" in smtp.messages[0].get_content()

        # The next day: what was acknowledged is no longer in it.
        items = await inbox(client, TOWNSHIP)
        done = next(i for i in items if i["household_id"] == "hh-1")
        await client.post(f"/api/v1/inbox/{done['id']}/acknowledge", headers=TOWNSHIP)
        clock.set_today(DAY + timedelta(days=1), hour=9)
        r = await client.post("/admin/digests/run", headers=COUNTY)
        assert r.json() == {"units": 2, "composed": True}
        await eventually(lambda: len(smtp.messages) == 2)
        body = smtp.messages[1].get_content()
        assert "2 条提醒尚未确认处理" in body and "hh-1" not in body
        await other_app.state.db.dispose()


async def _count_is(app, n):
    return await count(app, Reminder) == n
