"""The notifications service's settings: channels (SMTP, SMS gateway), their policies, loops.

Every value can be set by environment (`FANGPIN_NOTIFICATIONS_SMTP_HOST=…`); nested values as
JSON, e.g. `FANGPIN_NOTIFICATIONS_CHANNELS='{"sms": {"quiet_hours": ["21:30", "07:30"]}}'`.
A channel missing from `channels` keeps its defaults (DEFAULT_POLICIES).
"""

from __future__ import annotations

from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fangpin_common.settings import ServiceSettings

PUSH_CHANNELS = ("email", "wecom", "dingtalk", "webhook", "sms")


class ChannelPolicy(BaseModel):
    """How one channel is driven: timeout, retries, rate, quiet hours."""

    model_config = ConfigDict(extra="forbid")

    timeout_seconds: float = Field(default=10.0, gt=0)
    # Attempts in all (the first one included); then the delivery is a dead letter.
    max_attempts: int = Field(default=5, ge=1)
    # Exponential back-off: base × 2^(attempt-1), capped, with jitter (×0.5…1.0).
    backoff_base_seconds: float = Field(default=5.0, ge=0)
    backoff_max_seconds: float = Field(default=900.0, ge=0)
    # Sends per minute on this channel, per replica (a token bucket with `burst`).
    rate_per_minute: float = Field(default=120.0, gt=0)
    burst: int = Field(default=10, ge=1)
    concurrency: int = Field(default=4, ge=1)
    # [start, end] in Asia/Shanghai: nothing is sent in between; it waits until `end`.
    quiet_hours: tuple[time, time] | None = None


DEFAULT_POLICIES: dict[str, ChannelPolicy] = {
    "email": ChannelPolicy(timeout_seconds=20.0),
    # Group robots accept about 20 messages a minute each.
    "wecom": ChannelPolicy(rate_per_minute=20.0, burst=5),
    "dingtalk": ChannelPolicy(rate_per_minute=20.0, burst=5),
    "webhook": ChannelPolicy(),
    # No text messages at night: held until the morning.
    "sms": ChannelPolicy(rate_per_minute=60.0, quiet_hours=(time(22, 0), time(8, 0))),
}


class SmsGateway(BaseModel):
    """The SMS provider's HTTP API, described instead of coded.

    `body` is a JSON template: every string in it is formatted with {mobiles} (comma-separated),
    {mobile} (the first), {text}, {title}, {unit_name}, {unit}, {delivery_id} (use it as the
    gateway's idempotency key where it has one); a string that is exactly "{mobile_list}"
    becomes a JSON list. With method GET the template's top level becomes query parameters.
    A reply counts as success when its status is 2xx and, if `success_field` is set, that
    (dotted) field of the JSON reply is one of `success_values`.
    """

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    method: Literal["POST", "PUT", "GET"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: Any = Field(default_factory=lambda: {
        "mobiles": "{mobiles}", "content": "{text}", "out_id": "{delivery_id}"})
    success_field: str | None = None
    success_values: list[Any] = Field(default_factory=list)
    max_chars: int = Field(default=300, ge=20)


class NotificationsSettings(ServiceSettings):
    service_name: str = "notifications"
    port: int = 8004
    # Events are applied a fetched batch per transaction (see Subscription.batch_handler).
    consumer_batch_size: int = 256

    # E-mail over SMTP.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_sender: str = "防贫监测提醒 <fangpin@localhost>"

    # Signs generic webhooks for units that have no secret of their own.
    webhook_secret: str = "fangpin-webhook-key-change-me"
    sms: SmsGateway = Field(default_factory=SmsGateway)
    channels: dict[str, ChannelPolicy] = Field(default_factory=dict)

    # The dispatcher of deliveries (every channel but the inbox).
    dispatcher_batch_size: int = 50
    dispatcher_idle_seconds: float = 1.0
    # A claimed delivery not settled within this time (a crashed replica) is claimed again.
    delivery_lease_seconds: float = 300.0
    # A send recorded as started (in flight) and not settled this long after the channel's
    # timeout: its process died. Idempotent channels send it again (same delivery id); the
    # robots mark it `unknown` for an operator. Checked at most every `…_check_seconds`.
    delivery_in_flight_grace_seconds: float = 30.0
    delivery_in_flight_check_seconds: float = 10.0

    escalation_interval_seconds: float = 60.0
    # The daily digest, at this Asia/Shanghai time.
    digest_time: time = time(8, 30)
    digest_interval_seconds: float = 60.0
    digest_max_items: int = 30

    # Directory reads are cached this long (edits through this replica apply at once).
    directory_cache_seconds: float = 5.0

    @model_validator(mode="after")
    def _known_channels(self) -> NotificationsSettings:
        unknown = set(self.channels) - set(PUSH_CHANNELS)
        if unknown:
            raise ValueError(f"channels: unknown channel(s) {sorted(unknown)}; "
                             f"known: {', '.join(PUSH_CHANNELS)}")
        return self

    def policy(self, channel: str) -> ChannelPolicy:
        return self.channels.get(channel) or DEFAULT_POLICIES[channel]
