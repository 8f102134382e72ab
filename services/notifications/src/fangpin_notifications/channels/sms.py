"""SMS through an HTTP gateway whose request shape is configuration (settings.sms)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from fangpin_notifications.channels.base import ChannelError, Message, post_json
from fangpin_notifications.settings import SmsGateway


def fill(template: Any, values: Mapping[str, Any]) -> Any:
    """Format every string of a JSON template; "{mobile_list}" alone becomes a list."""
    if isinstance(template, str):
        if template == "{mobile_list}":
            return list(values["mobile_list"])
        return template.format_map(values)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


def sms_text(message: Message, max_chars: int) -> str:
    text = f"{message.title}：{message.body}" if message.title not in message.body else message.body
    return text if len(text) <= max_chars else text[: max_chars - 1] + "…"


def dig(reply: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(reply, dict):
            return None
        reply = reply.get(part)
    return reply


class SmsChannel:
    name = "sms"
    idempotent = True  # {delivery_id} for the gateway's own key (out_id …)

    def __init__(self, client: httpx.AsyncClient, gateway: SmsGateway) -> None:
        self.client = client
        self.gateway = gateway

    def configured(self) -> bool:
        return bool(self.gateway.url)

    def request(self, message: Message, mobiles: Sequence[str]) -> Any:
        values = {"mobiles": ",".join(mobiles), "mobile": mobiles[0], "mobile_list": mobiles,
                  "text": sms_text(message, self.gateway.max_chars), "title": message.title,
                  "unit_name": message.unit_name, "unit": message.unit,
                  "delivery_id": message.delivery_id}
        try:
            return fill(self.gateway.body, values)
        except (KeyError, IndexError, ValueError) as exc:
            raise ChannelError(f"SMS template: {exc!r}", permanent=True) from exc

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        g = self.gateway
        body = self.request(message, addresses)
        response = await post_json(self.client, str(g.url), body, timeout, headers=g.headers,
                                   method=g.method, params=body if g.method == "GET" else None)
        if g.success_field:
            try:
                value = dig(response.json(), g.success_field)
            except ValueError:
                value = None
            if value not in g.success_values:
                raise ChannelError(f"gateway said {g.success_field}={value!r}: "
                                   f"{response.text[:200]}", status=str(response.status_code))
        return str(response.status_code)
