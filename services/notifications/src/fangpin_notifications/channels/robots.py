"""WeCom (企业微信) and DingTalk (钉钉) group robots: their JSON message formats.

DingTalk robots with "加签" security take `timestamp` (ms) and `sign` query parameters:
sign = urlencode(base64(HMAC-SHA256(key=secret, msg="{timestamp}\\n{secret}"))).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from urllib.parse import quote_plus

import httpx

from fangpin_notifications.channels.base import Message, post_json, robot_reply


def wecom_body(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"content": f"**{message.title}**\n> {message.unit_name}\n\n"
                                    f"{message.body}"}}


def dingtalk_body(message: Message) -> dict:
    return {"msgtype": "markdown",
            "markdown": {"title": message.title,
                         "text": f"#### {message.title}\n\n> {message.unit_name}\n\n"
                                 f"{message.body}"}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    ts = timestamp_ms if timestamp_ms is not None else int(time.time() * 1000)
    return f"{url}{'&' if '?' in url else '?'}timestamp={ts}&sign={dingtalk_sign(secret, ts)}"


class WeComChannel:
    name = "wecom"
    idempotent = False  # group robots take no key: a copy would show twice in the group

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def configured(self) -> bool:
        return True

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        response = await post_json(self.client, addresses[0], wecom_body(message), timeout)
        return robot_reply(response)


class DingTalkChannel:
    name = "dingtalk"
    idempotent = False

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def configured(self) -> bool:
        return True

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        url = dingtalk_url(addresses[0], secrets.get("dingtalk"))
        response = await post_json(self.client, url, dingtalk_body(message), timeout)
        return robot_reply(response)
