"""Notifications is killed (SIGKILL) while a group robot and a webhook are being sent to a real
HTTP receiver on loopback. After the restart the robot message is not sent again on its own
(a robot has no idempotency key: it would show twice) but marked `unknown` and listed for an
operator, who resends it; the webhook goes again with the same delivery id and idempotency key,
for the receiver to drop the copy."""

import asyncio
import contextlib
import json
from datetime import UTC, date, datetime, timedelta

import nats
from nats.js.api import StreamConfig

from fangpin_common.clock import SettableClock
from fangpin_common.events import DeadlineData
from fangpin_common.events.monitoring import CaseHelperOverdue
from fangpin_common.testing import auth, eventually, running, settings_for, token_for
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

from ..notifications.conftest import Receiver, county_file
from .conftest import FAULT
from .test_notifications_crash import NotificationsProcess

pytestmark = FAULT
COUNTY = auth(token_for("county"))
TOWNSHIP = "450224103"
UNIT = f"township.{TOWNSHIP}"
POLICY = {"timeout_seconds": 30, "max_attempts": 3, "backoff_base_seconds": 0.05,
          "backoff_max_seconds": 0.2, "rate_per_minute": 6000, "burst": 100,
          "quiet_hours": None}
CHANNELS = {c: POLICY for c in ("email", "wecom", "dingtalk", "webhook", "sms")}


async def test_a_send_cut_by_a_crash_is_never_repeated_blindly(database, private_nats, tmp_path):
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    units = [{"code": UNIT, "name": "板榄镇人民政府", "level": "township",
              "parent": "county.rural_revitalisation", "township": TOWNSHIP,
              "wecom_webhook": receiver.url("/wecom") + "?key=k",
              "webhook_url": receiver.url("/hook")}]
    routing = [{"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["township"],
                "channels": ["inbox", "wecom", "webhook"],
                "template": "【已逾期】监测户（户编号 {household_id}）未安排帮扶责任人。"}]
    config = county_file(tmp_path, routing, units)
    settings = settings_for(NotificationsSettings, database, private_nats.url,
                            county_config=config, channels=CHANNELS,
                            dispatcher_idle_seconds=0.05)
    process = NotificationsProcess(settings, tmp_path / "notifications.log")
    process.env |= {"FANGPIN_COUNTY_CONFIG": str(config),
                    "FANGPIN_NOTIFICATIONS_CHANNELS": json.dumps(CHANNELS),
                    "FANGPIN_NOTIFICATIONS_DISPATCHER_IDLE_SECONDS": "0.05"}
    # The receiver takes both requests and holds its answers: the process dies meanwhile.
    receiver.delays = {"/wecom": 120, "/hook": 120}
    try:
        process.start()
        await publish(private_nats.url, CaseHelperOverdue(subject="case-1", data=DeadlineData(
            deadline_id="d-1", kind="case.helper", subject_type="case", subject_id="case-1",
            household_id="hh-1", township=TOWNSHIP, village="板榄村",
            started_on=date(2024, 4, 1), due_on=date(2024, 4, 6), days_overdue=1)))
        await eventually(lambda: len(receiver.to("/wecom")) == len(receiver.to("/hook")) == 1,
                         timeout=60)
        process.kill()
        receiver.delays = {}

        # Restarted (in process, its clock past the channel's timeout and the grace).
        clock = SettableClock(datetime.now(UTC) + timedelta(minutes=5))
        app = create_app(settings, clock)
        async with running(app) as client:
            # The webhook goes again by itself, under the same keys.
            await eventually(lambda: len(receiver.to("/hook")) == 2)
            first, again = receiver.to("/hook")
            for header in ("x-fangpin-delivery", "idempotency-key"):
                assert first.headers[header] == again.headers[header]
            assert first.headers["idempotency-key"] == first.json()["delivery_id"]

            # The robot message is in doubt: listed for the operator, not sent again.
            async def unknown():
                r = await client.get("/admin/deliveries", params={"state": "unknown"},
                                     headers=COUNTY)
                return r.json() or None

            [doubt] = await eventually(unknown)
            assert doubt["channel"] == "wecom" and "无法确认" in doubt["last_error"]
            log = (await client.get(f"/admin/deliveries/{doubt['id']}", headers=COUNTY)).json()
            assert [a["outcome"] for a in log["log"]] == ["unknown"]
            # (Marked before its channel's first claim, and no claim takes an unknown one.)
            assert len(receiver.to("/wecom")) == 1

            # The operator finds it did not arrive and resends it: now it goes, once.
            r = await client.post(f"/admin/deliveries/{doubt['id']}/resend", headers=COUNTY)
            assert r.status_code == 200, r.text

            async def sent():
                d = (await client.get(f"/admin/deliveries/{doubt['id']}", headers=COUNTY)).json()
                return d if d["state"] == "sent" else None

            done = await eventually(sent)
            assert [a["outcome"] for a in done["log"]] == ["unknown", "sent"]
            assert len(receiver.to("/wecom")) == 2
    finally:
        process.stop()
        server.close()


async def publish(url: str, *events) -> None:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(Exception):
            await js.add_stream(StreamConfig(name="FANGPIN_MONITORING",
                                             subjects=["fangpin.monitoring.>"]))
        for e in events:
            await js.publish(e.type, e.to_json(), headers={"Nats-Msg-Id": e.id})
    finally:
        await nc.close()

