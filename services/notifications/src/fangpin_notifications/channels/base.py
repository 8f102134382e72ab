"""What every channel adapter shares: the message, the outcome, how failures are classed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx


@dataclass(frozen=True)
class Message:
    delivery_id: str
    channel: str
    unit: str
    unit_name: str
    title: str
    body: str
    event_id: str
    event_type: str
    rule: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)


class ChannelError(Exception):
    """A failed attempt. `permanent` ones (a refused address, a 4xx) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, status: str | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class Channel(Protocol):
    name: str
    # The receiver gets a key that is the same on every attempt (the delivery id), so a copy
    # sent again after a crash can be dropped there; without one a send in doubt is not
    # repeated automatically (state unknown, for an operator).
    idempotent: bool

    def configured(self) -> bool: ...

    async def send(self, message: Message, addresses: Sequence[str],
                   secrets: Mapping[str, str], timeout: float) -> str:
        """Send; return a short status (e.g. "200", "250 OK") or raise ChannelError."""
        ...


def check_http(response: httpx.Response) -> None:
    """2xx passes; 408, 425, 429 and 5xx are worth retrying; other 4xx are not."""
    code = response.status_code
    if 200 <= code < 300:
        return
    retryable = code in (408, 425, 429) or code >= 500
    raise ChannelError(f"HTTP {code}: {response.text[:300]}", permanent=not retryable,
                       status=str(code))


async def post_json(client: httpx.AsyncClient, url: str, body: Any, timeout: float,
                    headers: Mapping[str, str] | None = None, method: str = "POST",
                    content: bytes | None = None, params: Any = None) -> httpx.Response:
    try:
        if content is not None:
            response = await client.request(method, url, content=content, headers=headers,
                                            timeout=timeout)
        elif method == "GET":
            response = await client.get(url, params=params, headers=headers, timeout=timeout)
        else:
            response = await client.request(method, url, json=body, headers=headers,
                                            timeout=timeout)
    except httpx.TimeoutException as exc:
        raise ChannelError(f"timed out after {timeout}s: {exc!r}", status="timeout") from exc
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
        raise ChannelError(f"bad address {url!r}: {exc}", permanent=True) from exc
    except httpx.HTTPError as exc:
        raise ChannelError(f"{type(exc).__name__}: {exc}", status="unreachable") from exc
    check_http(response)
    return response


def robot_reply(response: httpx.Response) -> str:
    """WeCom and DingTalk answer 200 with {"errcode": 0} on success."""
    try:
        reply = response.json()
    except ValueError:
        raise ChannelError(f"not a JSON reply: {response.text[:200]}",
                           status=str(response.status_code)) from None
    code = reply.get("errcode")
    if code != 0:
        raise ChannelError(f"errcode {code}: {reply.get('errmsg')}", status=f"errcode {code}")
    return f"{response.status_code} errcode 0"
