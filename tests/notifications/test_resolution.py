"""Escalation stops when the thing is done: the domain's "done" event (helper assigned, plan
filed, warning verified …) closes the open reminders about it, as the routing rules say
(`resolved_by`). Driven by a SettableClock, no sleeps."""

from datetime import date, timedelta

import pytest

from fangpin_common.clock import SettableClock
from fangpin_common.county import ConfigError
from fangpin_common.events.monitoring import (
    CaseHelperAssigned,
    CaseHelperOverdue,
    HelperAssignedData,
)
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.escalation import service as escalation
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.main import create_app
from fangpin_notifications.routing.models import Resolution
from fangpin_notifications.routing.rules import load_rules
from fangpin_notifications.settings import NotificationsSettings

from .conftest import (
    TOWNSHIP,
    TOWNSHIP_UNIT,
    count,
    county_file,
    deadline,
    fast_channels,
    metric,
    publish,
)
from .test_rules import county_with_routing, default_rules, line_of

DAY = date(2024, 4, 10)
VILLAGE_TOKEN = auth(token_for("village", "板榄镇", village="板榄村"))
TOWNSHIP_TOKEN = auth(token_for("township", "板榄镇"))
COUNTY_TOKEN = auth(token_for("county"))
HELPER = "fangpin.monitoring.case.helper_assigned"

RESOLVED = [{"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["village"],
             "channels": ["inbox", "webhook"], "title": "【已逾期】未安排帮扶责任人",
             "template": "【已逾期】监测户（户编号 {household_id}）未安排帮扶责任人。",
             "escalate": {"after_hours": 24, "max_levels": 2},
             "resolved_by": [{"event": HELPER, "key": "case_id"}]}]


def assigned(n: int, clock) -> CaseHelperAssigned:
    return CaseHelperAssigned(subject=f"case-{n}", time=clock.now(), data=HelperAssignedData(
        case_id=f"case-{n}", household_id=f"hh-{n}", township=TOWNSHIP, village="板榄村",
        helper_id="p-1", helper_name="韦帮扶", assigned_on=DAY, late=True))


async def inbox(client, headers) -> list[dict]:
    r = await client.get("/api/v1/inbox", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def village_with_webhook(database, own_nats, tmp_path, receiver):
    """The service with the RESOLVED rule, its clock at DAY 09:00, and a village reached by
    webhook — webhooks wait all day (quiet hours), so a pending push is there to be cancelled."""
    clock = SettableClock()
    clock.set_today(DAY, hour=9)
    village = {"code": "village.板榄村", "name": "板榄村村民委员会", "level": "village",
               "parent": TOWNSHIP_UNIT, "township": TOWNSHIP,
               "village": "板榄村", "webhook_url": receiver.url("/hook")}
    channels = fast_channels(webhook={"quiet_hours": ["00:00", "23:59"]})
    settings = settings_for(NotificationsSettings, database, own_nats.url,
                            county_config=county_file(tmp_path, RESOLVED, [village]),
                            channels=channels, escalation_interval_seconds=3600,
                            dispatcher_idle_seconds=0.05)
    return clock, create_app(settings, clock)


async def test_the_thing_done_closes_its_reminders_and_stops_their_escalation(
        database, own_nats, tmp_path, receiver):
    clock, app = village_with_webhook(database, own_nats, tmp_path, receiver)
    async with running(app) as client:
        notifier = app.state.notifier
        await publish(own_nats.url, *(CaseHelperOverdue(subject=f"case-{n}", time=clock.now(),
                                                        data=deadline(n=n)) for n in (1, 2, 3)))
        items = await eventually(lambda: _at_least(inbox(client, VILLAGE_TOKEN), 3))
        assert {i["state"] for i in items} == {"unread"}
        assert await count(app, Delivery, Delivery.state == "pending") == 3
        # case-3's reminder is answered: acknowledged stays acknowledged whatever comes later.
        third = next(i for i in items if i["household_id"] == "hh-3")
        await client.post(f"/api/v1/inbox/{third['id']}/acknowledge", headers=VILLAGE_TOKEN)

        # A day on, nobody answered case-1 and case-2: both climb to the township.
        clock.advance(timedelta(hours=25))
        assert await escalation.scan(notifier) == 2
        assert len(await inbox(client, TOWNSHIP_TOKEN)) == 2

        # The township assigns case-1's helper (and case-3's): the monitoring service says so.
        await publish(own_nats.url, assigned(1, clock), assigned(3, clock))

        async def case_1_closed():
            rows = [i for i in await inbox(client, VILLAGE_TOKEN)
                    + await inbox(client, TOWNSHIP_TOKEN) if i["household_id"] == "hh-1"]
            return rows if {r["state"] for r in rows} == {"resolved"} else None

        closed = await eventually(case_1_closed)
        assert len(closed) == 2  # the village's reminder and the one escalated to the township
        assert all(r["escalate_at"] is None and r["resolved_at"] for r in closed)
        states = {i["household_id"]: i["state"] for i in await inbox(client, VILLAGE_TOKEN)}
        assert states == {"hh-1": "resolved", "hh-2": "unread", "hh-3": "acknowledged"}
        # Its push not sent yet is cancelled; the others still wait.
        assert await count(app, Delivery, Delivery.state == "cancelled") == 1
        assert await count(app, Delivery, Delivery.state == "pending") == 2
        assert metric(app, "fangpin_notifications_resolved_total") == 2

        # Another day: case-2 goes on to the county, case-1 does not.
        clock.advance(timedelta(hours=25))
        assert await escalation.scan(notifier) == 1
        [top] = [i for i in await inbox(client, COUNTY_TOKEN) if i["level"] == 2]
        assert top["household_id"] == "hh-2"
        # A resolved reminder cannot be acknowledged back into another state.
        r = await client.post(f"/api/v1/inbox/{closed[0]['id']}/acknowledge",
                              headers=VILLAGE_TOKEN if closed[0]["level"] == 0
                              else TOWNSHIP_TOKEN)
        assert r.json()["state"] == "resolved"
        assert await count(app, Reminder, Reminder.state == "resolved") == 2


async def test_a_reminder_whose_thing_was_done_before_it_arrived_is_stored_closed(
        database, own_nats, tmp_path, receiver):
    """Out of order (a replay, a redelivery): the "done" event is consumed before the overdue
    event it settles. The reminder is stored already resolved, its push cancelled; an overdue
    event of a later time (the thing overdue again) is not covered by it."""
    clock, app = village_with_webhook(database, own_nats, tmp_path, receiver)
    async with running(app) as client:
        notifier = app.state.notifier
        reported = clock.now()
        clock.advance(timedelta(hours=1))
        # The helper was assigned an hour after case-1 was reported overdue; the assignment
        # is consumed first.
        await publish(own_nats.url, assigned(1, clock))
        assert await eventually(lambda: _resolutions(app, 1))
        await publish(own_nats.url,
                      CaseHelperOverdue(subject="case-1", time=reported, data=deadline(n=1)),
                      CaseHelperOverdue(subject="case-2", time=reported, data=deadline(n=2)))
        items = await eventually(lambda: _at_least(inbox(client, VILLAGE_TOKEN), 2))
        states = {i["household_id"]: i["state"] for i in items}
        assert states == {"hh-1": "resolved", "hh-2": "unread"}
        assert await count(app, Delivery, Delivery.state == "cancelled") == 1
        assert await count(app, Delivery, Delivery.state == "pending") == 1
        assert metric(app, "fangpin_notifications_resolved_total") == 1

        # A day on, case-1 is overdue again (a later deadline): that reminder stays open, and
        # only the open ones climb.
        clock.advance(timedelta(hours=25))
        await publish(own_nats.url, CaseHelperOverdue(
            subject="case-1", time=clock.now(), data=deadline(n=1, days_overdue=2)))
        items = await eventually(lambda: _at_least(inbox(client, VILLAGE_TOKEN), 3))
        assert sorted((i["household_id"], i["state"]) for i in items) == [
            ("hh-1", "resolved"), ("hh-1", "unread"), ("hh-2", "unread")]
        assert await escalation.scan(notifier) == 1
        [up] = await inbox(client, TOWNSHIP_TOKEN)
        assert up["household_id"] == "hh-2"


async def _resolutions(app, n: int):
    return await count(app, Resolution, Resolution.subject_key == f"case-{n}") or None


async def _at_least(items, n):
    items = await items
    return items if len(items) >= n else None


def test_done_events_in_the_county_file_resolve_their_reminders():
    rules = default_rules()
    assert {name for _, names in rules.resolving(HELPER) for name in names} == {
        "fangpin.monitoring.case.helper_due_soon", "fangpin.monitoring.case.helper_overdue"}
    assert rules.resolving("fangpin.monitoring.warning.verified") == [("warning_id", (
        "fangpin.monitoring.warning.raised", "fangpin.monitoring.warning.verification_due_soon",
        "fangpin.monitoring.warning.verification_overdue"))]
    assert rules.resolving("fangpin.monitoring.case.opened") == []


@pytest.mark.parametrize("line, message, fragment", [
    (f"resolved_by: [{{event: {HELPER}x, key: case_id}}]", "unknown event type", "resolved_by"),
    (f"resolved_by: [{{event: {HELPER}, key: plan_id}}]", "has no field 'plan_id'",
     "resolved_by"),
    (f"resolved_by: [{{event: {HELPER}}}]", "Field required", "resolved_by"),
    ("subject_key: warning_id", "has no field 'warning_id' naming", "subject_key"),
])
def test_bad_resolvers_are_refused_naming_the_line(tmp_path, line, message, fragment):
    rule = ["event: fangpin.monitoring.case.helper_overdue", "recipients: [township]",
            'template: "户编号 {household_id}"', f"resolved_by: [{{event: {HELPER}, key: case_id}}]"]
    key = line.split(":")[0]
    rule = [r for r in rule if not r.startswith(key + ":")] + [line]
    body = "\n".join(f"    {v}" if i else f"  - {v}" for i, v in enumerate(rule))
    county, text = county_with_routing(tmp_path, "routing:\n" + body + "\n")
    with pytest.raises(ConfigError) as err:
        load_rules(county, text)
    assert message in str(err.value)
    assert f"line {line_of(text, fragment)}:" in str(err.value), str(err.value)
