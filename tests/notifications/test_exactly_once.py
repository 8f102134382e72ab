"""Exactly one reminder per (event, recipient, channel): redeliveries, a restart with the whole
stream delivered again, and a restart while a delivery is in flight."""


import nats

from fangpin_common.events.monitoring import CaseHelperOverdue
from fangpin_common.testing import eventually, running, settings_for
from fangpin_notifications.deliveries.models import Delivery
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import TOWNSHIP_UNIT, count, county_file, deadline, fast_channels, metric, publish

ROUTING = [{"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["township"],
            "channels": ["inbox", "email", "webhook"], "title": "【已逾期】未安排帮扶责任人",
            "template": "监测户（户编号 {household_id}）已逾期 {days_overdue} 天。"}]


def app_for(database, nats_url, tmp_path, smtp, receiver, settings=None):
    units = [{"code": TOWNSHIP_UNIT, "name": "板榄镇人民政府", "level": "township",
              "parent": "county.rural_revitalisation", "township": "450224103",
              "email": "banlan@gov.example", "webhook_url": receiver.url("/hook")}]
    settings = settings or settings_for(
        NotificationsSettings, database, nats_url,
        county_config=county_file(tmp_path, ROUTING, units), smtp_host="127.0.0.1",
        smtp_port=smtp.port, channels=fast_channels(), dispatcher_idle_seconds=0.05)
    return create_app(settings), settings


async def forget_progress(url: str) -> None:
    """Delete the durable consumers: the next start reads every stream from the beginning."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in ("monitoring", "employment", "industry"):
            try:
                await js.delete_consumer(f"FANGPIN_{name.upper()}", f"notifications-{name}")
            except Exception:  # noqa: BLE001 (a stream that never existed)
                pass
    finally:
        await nc.close()


async def test_redelivery_and_restart_send_nothing_twice(database, own_nats, tmp_path, smtp,
                                                         receiver, dispatch_rounds):
    event = CaseHelperOverdue(subject="case-7", data=deadline(n=7))
    app, settings = app_for(database, own_nats.url, tmp_path, smtp, receiver)
    async with running(app):
        await publish(own_nats.url, event)
        await eventually(lambda: len(smtp.messages) == 1 and len(receiver.to("/hook")) == 1)
        # The same event delivered again (a new message id: past JetStream's duplicate window).
        await publish(own_nats.url, event, msg_id="again-1")
        await publish(own_nats.url, event, msg_id="again-2")
        await eventually(lambda: metric(app, "fangpin_events_consumed_total",
                                        outcome="duplicate") >= 2)
        # Sends come only from delivery rows: with no second row, and a dispatcher round
        # begun after the redeliveries, a wrong second send would have happened by now.
        assert await count(app, Reminder) == 1
        assert await count(app, Delivery) == 2
        for channel in ("email", "webhook"):
            await dispatch_rounds.two_more(channel)
    assert len(smtp.messages) == 1 and len(receiver.to("/hook")) == 1

    # Restarted, with the stream read again from its first message.
    await forget_progress(own_nats.url)
    app, _ = app_for(database, own_nats.url, tmp_path, smtp, receiver, settings)
    async with running(app):
        # All three messages of the stream read again, each a duplicate.
        await eventually(lambda: metric(app, "fangpin_events_consumed_total",
                                        outcome="duplicate") >= 3)
        for channel in ("email", "webhook"):
            await dispatch_rounds.two_more(channel)
        assert await count(app, Reminder) == 1
        assert await count(app, Delivery) == 2
        assert await count(app, Delivery, Delivery.state == "sent") == 2
    assert len(smtp.messages) == 1 and len(receiver.to("/hook")) == 1


async def test_a_send_in_flight_at_shutdown_is_settled_not_repeated(database, own_nats, tmp_path,
                                                                    smtp, receiver,
                                                                    dispatch_rounds):
    receiver.delays["/hook"] = 1.0  # the department's server is slow
    app, settings = app_for(database, own_nats.url, tmp_path, smtp, receiver)
    async with running(app):
        await publish(own_nats.url, CaseHelperOverdue(subject="case-8", data=deadline(n=8)))
        await eventually(lambda: len(receiver.to("/hook")) == 1)
        # Stop now, while the webhook is waiting for its answer.
    async with app.state.db.session() as session:
        from sqlmodel import select

        hook = (await session.exec(select(Delivery).where(Delivery.channel == "webhook"))).one()
    assert hook.state == "sent" and hook.attempts == 1
    receiver.delays.clear()
    app, _ = app_for(database, own_nats.url, tmp_path, smtp, receiver, settings)
    async with running(app):
        # A round begun after the restart has looked for sends left in flight, and found none.
        await dispatch_rounds.two_more("webhook")
    assert len(receiver.to("/hook")) == 1


INBOX_ONLY = [{"event": "fangpin.monitoring.case.helper_overdue", "recipients": ["township"],
               "channels": ["inbox"], "template": "监测户（户编号 {household_id}）已逾期。"}]


async def test_a_batch_of_old_and_new_events_writes_only_the_new(database, own_nats, tmp_path):
    """The batch path builds every event's rows before its transaction; only the events its
    claim finds fresh are written and counted."""
    settings = settings_for(NotificationsSettings, database, own_nats.url,
                            county_config=county_file(tmp_path, INBOX_ONLY))
    old = [CaseHelperOverdue(subject=f"case-{n}", data=deadline(n=n)) for n in range(40)]
    new = [CaseHelperOverdue(subject=f"case-{n}", data=deadline(n=n)) for n in range(40, 100)]
    app = create_app(settings)
    async with running(app):
        await publish(own_nats.url, *old)
        await eventually(lambda: _reminders_are(app, 40))
    # Read again from the start with new events behind the old: batches mixing both.
    await forget_progress(own_nats.url)
    await publish(own_nats.url, *new)
    app = create_app(settings)
    async with running(app):
        await eventually(lambda: _reminders_are(app, 100))
        await eventually(lambda: metric(app, "fangpin_events_consumed_total",
                                        outcome="duplicate") == 40)
        assert metric(app, "fangpin_events_consumed_total", outcome="handled") == 60
        assert metric(app, "fangpin_notifications_sent_total") == 60


async def _reminders_are(app, n: int) -> bool:
    return await count(app, Reminder) == n
