"""The generic webhook: a signed JSON POST a department can verify (see the service README).

Headers: X-Fangpin-Delivery (the delivery id: the same on every retry, for deduplication),
X-Fangpin-Event (the event type), X-Fangpin-Timestamp (unix seconds) and
X-Fangpin-Signature: "sha256=" + hex(HMAC-SHA256(key=secret, msg=timestamp + "." + body)).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence

import httpx

from fangpin_notifications.channels.base import Message, post_json


def webhook_body(message: Message) -> bytes:
    return json.dumps({
        "delivery_id": message.delivery_id,
        "event_id": message.event_id,
        "event_type": message.event_type,
        "rule": message.rule,
        "recipient_unit": message.unit,
        "recipient_name": message.unit_name,
        "title": message.title,
        "text": message.body,
        "data": dict(message.payload),
    }, ensure_ascii=False, separators=(",", ":")).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                                hashlib.sha256).hexdigest()


def verify(secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None,
           tolerance: int = 300) -> bool:
    """What a receiver does (reference implementation, used by the tests)."""
    try:
        timestamp = int(headers["x-fangpin-timestamp"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected, headers.get("x-fangpin-signature", ""))


class WebhookChannel:
    name = "webhook"
    idempotent = True  # X-Fangpin-Delivery, Idempotency-Key

    def __init__(self, client: httpx.AsyncClient, default_secret: str) -> None:
        self.client = client
        self.default_secret = default_secret

    def configured(self) -> bool:
        return True

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        body = webhook_body(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Fangpin-Delivery": message.delivery_id,
            # The same key under the name generic receivers and gateways look for.
            "Idempotency-Key": message.delivery_id,
            "X-Fangpin-Event": message.event_type,
            "X-Fangpin-Timestamp": str(timestamp),
            "X-Fangpin-Signature": signature(secrets.get("webhook") or self.default_secret,
                                             timestamp, body),
        }
        response = await post_json(self.client, addresses[0], None, timeout, headers=headers,
                                   content=body)
        return str(response.status_code)
