"""The notifications service: turns domain events into reminders to responsible units (N1–N2).

Consumes the monitoring, employment and industry streams; routes each event by the county's
rules (`routing:` in the county file) to units of the directory; stores inbox reminders and
queues deliveries (e-mail, WeCom, DingTalk, webhook, SMS) for the dispatcher; escalates what
stays unacknowledged; sends a daily digest where a rule asks for one.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fangpin_common import migrations
from fangpin_common.clock import Clock
from fangpin_common.consumer import Subscription
from fangpin_common.service import ServiceContext, ServiceSpec, build_app
from fangpin_notifications.deliveries.dispatcher import Dispatcher
from fangpin_notifications.deliveries.models import Delivery, DeliveryAttempt  # noqa: F401
from fangpin_notifications.deliveries.router import router as deliveries_router
from fangpin_notifications.digest import service as digest
from fangpin_notifications.digest.models import DigestRun  # noqa: F401
from fangpin_notifications.directory.models import DirectoryPerson, DirectoryUnit  # noqa: F401
from fangpin_notifications.directory.router import router as directory_router
from fangpin_notifications.escalation import service as escalation
from fangpin_notifications.inbox.models import Reminder  # noqa: F401
from fangpin_notifications.inbox.router import router as inbox_router
from fangpin_notifications.routing import service as routing
from fangpin_notifications.routing.models import Resolution  # noqa: F401
from fangpin_notifications.routing.router import router as routing_router
from fangpin_notifications.runtime import Notifier
from fangpin_notifications.settings import NotificationsSettings

# The publishing services' streams this service reads (a stream that does not exist yet is
# waited for by the consumer).
SOURCES = {"monitoring": "FANGPIN_MONITORING", "employment": "FANGPIN_EMPLOYMENT",
           "industry": "FANGPIN_INDUSTRY"}


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    notifier = Notifier.of(ctx)

    async def handle(session, event) -> None:
        await routing.route(session, [event], notifier)

    async def prepare(events) -> routing.Plan:
        # Outside the transaction (the directory through its own read): the rows are built
        # while the previous batch is being written.
        return routing.plan(events, notifier, await notifier.directory.get())

    async def handle_batch(session, events, plan: routing.Plan) -> None:
        await routing.apply(session, plan, notifier, {event.id for event in events})

    return [Subscription(durable=f"notifications-{name}", stream=stream,
                         subjects=[f"fangpin.{name}.>"], handler=handle,
                         batch_handler=handle_batch, batch_prepare=prepare)
            for name, stream in SOURCES.items()]


async def dispatcher(ctx: ServiceContext) -> None:
    await Dispatcher(Notifier.of(ctx)).run()


async def escalations(ctx: ServiceContext) -> None:
    await escalation.loop(Notifier.of(ctx))


async def digests(ctx: ServiceContext) -> None:
    await digest.loop(Notifier.of(ctx))


SPEC = ServiceSpec(
    name="notifications",
    title="Fangpin notifications",
    description="提醒：按县级配置的规则把各项期限和事件推送给责任单位（站内信、邮件、企业微信、钉钉、"
                "Webhook、短信），逾期未确认逐级上报，并按日汇总。",
    routers=[inbox_router, directory_router, deliveries_router, routing_router],
    subscriptions=subscriptions,
    background=[dispatcher, escalations, digests],
)


def create_app(settings: NotificationsSettings | None = None,
               clock: Clock | None = None) -> FastAPI:
    settings = settings or NotificationsSettings()
    app = build_app(SPEC, settings, clock)
    notifier = app.state.notifier = Notifier.of(app.state.ctx)
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The directory is seeded before any consumer or loop runs.
        if settings.auto_migrate:
            await migrations.upgrade(SPEC.name, settings)
        await notifier.directory.ensure_seeded(notifier.clock.now())
        async with started(app):
            # What start-up built lives as long as the process: out of the cyclic collector's
            # scans, which a busy stream of events (many short-lived rows) triggers often.
            gc.freeze()
            try:
                yield
            finally:
                gc.unfreeze()  # collectable again once stopped (tests start many apps)

    app.router.lifespan_context = lifespan
    return app
