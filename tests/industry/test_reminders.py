"""Flags and fix deadlines reach the responsible units through notifications (N1)."""

from datetime import date

from fangpin_common.county import load_county
from fangpin_common.events.industry import ProjectFixOverdue, ProjectFlagged
from fangpin_common.testing import COUNTY_CONFIG, auth, eventually, running, settings_for, token_for
from fangpin_industry.main import create_app
from fangpin_notifications.main import create_app as create_notifications
from fangpin_notifications.routing.rules import load_rules, resolve_recipients
from fangpin_notifications.settings import NotificationsSettings

from .conftest import AGRICULTURE, BANLAN, COUNTY, industry_settings, project


def test_routing_rules_of_the_industry_events_load():
    county = load_county(COUNTY_CONFIG)
    rules = load_rules(county, COUNTY_CONFIG.read_text(encoding="utf-8"))
    by_event = {r.event: r for r in rules.rules}
    flagged = by_event[ProjectFlagged.event_type()]
    assert resolve_recipients(flagged, {"township": BANLAN}, county) == [
        f"township.{BANLAN}", "county.agriculture"]
    overdue = by_event[ProjectFixOverdue.event_type()]
    assert resolve_recipients(overdue, {"township": BANLAN}, county)[-1] == \
        "county.rural_revitalisation"


async def test_a_flag_and_its_overdue_fix_reach_the_township_and_the_bureau(
        database, private_nats, clock):
    industry = create_app(industry_settings(database, private_nats), clock)
    notifications = create_notifications(
        settings_for(NotificationsSettings, database, private_nats.url), clock)
    # industry first: its stream exists when notifications subscribes to it
    async with running(industry) as i, running(notifications) as n:
        r = await i.post("/api/v1/projects", headers=COUNTY,
                         json=project(planned_completion="2024-04-01"))
        project_id = r.json()["id"]
        assert (await i.post("/api/v1/projects/scan", headers=AGRICULTURE)
                ).json()["flagged"] == 1
        clock.set_today(date(2024, 5, 20))  # the 30-day fix deadline (2024-05-10) passed
        assert await industry.state.scanner.scan() == 1

        township = auth(token_for("township", "板榄镇"))

        async def inbox(headers, kind):
            rows = (await n.get("/api/v1/inbox", headers=headers)).json()
            return [x for x in rows if x["event_type"] == kind]

        flagged = await eventually(lambda: inbox(township, ProjectFlagged.event_type()))
        assert "建而不成" in flagged[0]["body"] and project_id in flagged[0]["body"]
        assert "板榄镇产业项目“板榄镇金桔标准化种植基地”" in flagged[0]["body"]
        assert await eventually(lambda: inbox(AGRICULTURE, ProjectFlagged.event_type()))
        overdue = await eventually(lambda: inbox(COUNTY, ProjectFixOverdue.event_type()))
        assert "已逾期 10 天" in overdue[0]["body"] and "建而不成" in overdue[0]["body"]
        assert await eventually(lambda: inbox(township, ProjectFixOverdue.event_type()))
