"""Everything one running instance of the service shares: rules, directory, channels, metrics.

Built once per app from its ServiceContext (`Notifier.of(ctx)`), used by the consumer, the
dispatcher, the escalation and digest loops and the routers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from sqlalchemy import event as sa_event

from fangpin_common.db import insert_for, is_postgres
from fangpin_common.service import ServiceContext
from fangpin_notifications.channels.base import Channel
from fangpin_notifications.channels.email import EmailChannel
from fangpin_notifications.channels.ratelimit import TokenBucket
from fangpin_notifications.channels.robots import DingTalkChannel, WeComChannel
from fangpin_notifications.channels.sms import SmsChannel
from fangpin_notifications.channels.webhook import WebhookChannel
from fangpin_notifications.directory import rules as directory_rules
from fangpin_notifications.directory.service import DirectoryCache
from fangpin_notifications.metrics import NotificationMetrics, notification_metrics
from fangpin_notifications.routing.rules import RuleSet, load_rules
from fangpin_notifications.settings import PUSH_CHANNELS, NotificationsSettings

_instances: WeakKeyDictionary[Any, Notifier] = WeakKeyDictionary()


class Notifier:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.settings: NotificationsSettings = ctx.settings  # type: ignore[assignment]
        self.county = ctx.county
        self.clock = ctx.clock
        self.db = ctx.db
        source = self.settings.county_config.read_text(encoding="utf-8")
        # Bad configuration is refused here, when the app is built, naming the line.
        directory_rules.check_seed(ctx.county, source)
        self.rules: RuleSet = load_rules(ctx.county, source)
        self.directory = DirectoryCache(ctx.db, ctx.county, self.settings.directory_cache_seconds)
        self.metrics: NotificationMetrics = notification_metrics(ctx.metrics)
        self.postgres = is_postgres(ctx.db.engine)
        self.wake = asyncio.Event()
        self.http = httpx.AsyncClient(follow_redirects=False)
        self.channels: dict[str, Channel] = {
            "email": EmailChannel(self.settings),
            "wecom": WeComChannel(self.http),
            "dingtalk": DingTalkChannel(self.http),
            "webhook": WebhookChannel(self.http, self.settings.webhook_secret),
            "sms": SmsChannel(self.http, self.settings.sms),
        }
        self.buckets = {name: TokenBucket(self.settings.policy(name).rate_per_minute,
                                          self.settings.policy(name).burst)
                        for name in PUSH_CHANNELS}

    @classmethod
    def of(cls, ctx: ServiceContext) -> Notifier:
        found = _instances.get(ctx.db)
        if found is None:
            found = _instances[ctx.db] = cls(ctx)
        return found

    def usable(self, channel: str) -> bool:
        """A push channel this deployment can send on (SMTP host set, SMS gateway set …)."""
        return channel in self.channels and self.channels[channel].configured()

    def insert(self, table):
        """INSERT … ON CONFLICT DO NOTHING: a second copy of a reminder is silently dropped."""
        return insert_for(self.db.engine, table).on_conflict_do_nothing()

    @staticmethod
    def after_commit(session, action: Callable[[], None]) -> None:
        sa_event.listen(session.sync_session, "after_commit", lambda _s: action(), once=True)

    async def close(self) -> None:
        await self.http.aclose()
