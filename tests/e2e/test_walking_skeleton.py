"""The walking skeleton: a case opened in monitoring becomes reminders in notifications, and a
helper deadline that passes becomes an overdue reminder — through JetStream, on both databases."""

from datetime import date, timedelta

from fangpin_common.clock import SettableClock
from fangpin_common.testing import (
    auth,
    confirmed_case,
    eventually,
    running,
    settings_for,
    token_for,
)
from fangpin_monitoring.households import rules
from fangpin_monitoring.main import create_app as monitoring_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_notifications.main import create_app as notifications_app
from fangpin_notifications.settings import NotificationsSettings

TOWNSHIP = auth(token_for("township", "板榄镇"))
OTHER_TOWNSHIP = auth(token_for("township", "长安镇"))
COUNTY = auth(token_for("county"))
TODAY = date(2024, 4, 10)


def a_household() -> dict:
    first17 = "45022419800101001"
    return {"township": "板榄镇", "village": "板榄村", "category": "脱贫户", "members": [{
        "name": "韦明", "id_number": first17 + rules.check_digit(first17), "sex": "男",
        "birth_date": "1980-01-01", "relation": "户主", "labour_capacity": "普通劳动力"}]}


async def inbox(client, headers) -> list[dict]:
    r = await client.get("/api/v1/inbox", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def test_case_to_reminders_and_overdue(database, private_nats):
    clock = SettableClock()
    clock.set_today(TODAY)
    monitoring = monitoring_app(settings_for(MonitoringSettings, database, private_nats.url),
                                clock)
    notifications = notifications_app(
        settings_for(NotificationsSettings, database, private_nats.url), clock)
    async with running(monitoring) as mon, running(notifications) as notes:
        household = (await mon.post("/api/v1/households", json=a_household(),
                                    headers=TOWNSHIP)).json()
        case = await confirmed_case(mon, household["id"], TODAY, "突发严重困难户", ["因灾"])

        township_inbox = await eventually(lambda: inbox(notes, TOWNSHIP))
        assert len(township_inbox) == 1
        opened = township_inbox[0]
        assert opened["event_type"] == "fangpin.monitoring.case.opened"
        assert "板榄镇" in opened["body"] and household["id"] in opened["body"]
        assert [r["event_type"] for r in await inbox(notes, COUNTY)] == [
            "fangpin.monitoring.case.opened"]
        assert await inbox(notes, OTHER_TOWNSHIP) == []

        # Five days pass without a helper: the scanner finds it overdue on day six.
        clock.set_today(TODAY + timedelta(days=6))
        assert (await mon.post("/admin/deadlines/scan", headers=COUNTY)).json()["emitted"] == 1  # helper overdue; plan not yet due soon

        async def overdue_reminders():
            items = await inbox(notes, TOWNSHIP)
            return [i for i in items if i["event_type"].endswith("helper_overdue")]

        [overdue] = await eventually(overdue_reminders)
        assert overdue["subject"] == case["id"] and "已逾期 1 天" in overdue["body"]
        county_types = {r["event_type"] for r in await inbox(notes, COUNTY)}
        assert "fangpin.monitoring.case.helper_overdue" in county_types

        # Acknowledge; another unit cannot touch it.
        r = await notes.post(f"/api/v1/inbox/{overdue['id']}/acknowledge", headers=TOWNSHIP)
        assert r.json()["state"] == "acknowledged"
        r = await notes.post(f"/api/v1/inbox/{overdue['id']}/read", headers=OTHER_TOWNSHIP)
        assert r.status_code == 404

        # The helper assigned late is recorded as late, and nothing is emitted twice.
        r = await mon.post(f"/api/v1/cases/{case['id']}/helpers", headers=TOWNSHIP,
                           json={"name": "黄帮扶"})
        assert r.status_code == 201
        assert (await mon.post("/admin/deadlines/scan", headers=COUNTY)).json()["emitted"] == 0
