"""The notifications service: turns domain events into reminders to responsible units (N1–N2)."""

from __future__ import annotations

from fastapi import FastAPI

from fangpin_common.clock import Clock
from fangpin_common.consumer import Subscription
from fangpin_common.service import ServiceContext, ServiceSpec, build_app
from fangpin_notifications.inbox import service as inbox
from fangpin_notifications.inbox.router import router as inbox_router
from fangpin_notifications.routing.rules import load_rules, rules_by_event
from fangpin_notifications.settings import NotificationsSettings

# The publishing services' streams this service reads.
SOURCES = {"monitoring": "FANGPIN_MONITORING", "industry": "FANGPIN_INDUSTRY"}


def subscriptions(ctx: ServiceContext) -> list[Subscription]:
    rules = rules_by_event(load_rules(
        ctx.county, ctx.settings.county_config.read_text(encoding="utf-8")))

    async def handle(session, event) -> None:
        await inbox.deliver(session, event, rules.get(event.type, []), ctx.county, ctx.clock)

    return [Subscription(durable=f"notifications-{name}", stream=stream,
                         subjects=[f"fangpin.{name}.>"], handler=handle)
            for name, stream in SOURCES.items()]


SPEC = ServiceSpec(
    name="notifications",
    title="Fangpin notifications",
    description="提醒：把各项期限和事件推送给责任单位（站内信），逾期未处理逐级上报。",
    routers=[inbox_router],
    subscriptions=subscriptions,
)


def create_app(settings: NotificationsSettings | None = None,
               clock: Clock | None = None) -> FastAPI:
    return build_app(SPEC, settings or NotificationsSettings(), clock)
