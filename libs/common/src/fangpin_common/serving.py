"""uvicorn's HTTP/1.1 protocol with a deadline for the request line and headers.

uvicorn has no header-read timeout: 200 connections sending their headers a byte at a time
stayed open for a minute and more (slowloris), and the ASGI app cannot help since it is called
only once the headers are complete. This protocol closes a connection whose request head is not
complete `header_timeout_seconds` after its first byte (or after the connection opened), as
nginx's `client_header_timeout` does. Served with

    uvicorn --factory fangpin_<service>.main:create_app --http fangpin_common.serving:H11

(`fangpin run` and the Dockerfile do so); the body's deadline is the ASGI layer's
(`fangpin_common.limits`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from fangpin_common.settings import ServiceSettings

# uvicorn's flags that go with it: idle keep-alive connections close after 5 s, and a request
# head larger than 16 KiB is refused (h11's default allows 16 KiB too; said here on purpose).
UVICORN_FLAGS = ["--http", "fangpin_common.serving:H11", "--timeout-keep-alive", "5",
                 "--h11-max-incomplete-event-size", "16384"]

_timeout: list[float] = []
# After refusing a body (413, 408) the connection is closed the way nginx's lingering_close
# does: answer, half-close, then read and drop what the client is still sending, for a while.
# Closing at once with unread bytes makes the kernel send a reset, and most clients then lose
# the answer they were sent.
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 1024 * 1024


def header_timeout() -> float:
    # Read once per process: the protocol is built per connection.
    if not _timeout:
        _timeout.append(ServiceSettings().header_timeout_seconds)
    return _timeout[0]


class H11(H11Protocol):
    # None: FANGPIN_HEADER_TIMEOUT_SECONDS (a subclass may fix it, as tests do).
    head_timeout_seconds: float | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self.head_timeout = self.head_timeout_seconds or header_timeout()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self.lingering = False
        self.drained = 0
        super().connection_made(_LingeringClose(transport, self))  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:
            self.drained += len(data)
            if self.drained > LINGER_BYTES:
                self.transport.abort()
            return
        # The first byte of a next request on a kept-alive connection starts its deadline.
        if self._head_timer is None and self.conn.their_state is h11.IDLE:
            self._arm()
        super().data_received(data)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:
            self._disarm()  # a request head arrived whole

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.head_timeout, self._expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _expired(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.logger.info("request head not complete within %ss: connection closed",
                             self.head_timeout)
            self.transport.close()


class _LingeringClose:
    """uvicorn's transport, except that closing while the client is still sending its body
    half-closes and drains first (see LINGER_SECONDS)."""

    def __init__(self, transport: asyncio.Transport, protocol: H11) -> None:
        self._transport = transport
        self._protocol = protocol

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)

    def close(self) -> None:
        protocol, transport = self._protocol, self._transport
        if (not protocol.lingering and not transport.is_closing()
                and protocol.conn.their_state is h11.SEND_BODY and transport.can_write_eof()):
            protocol.lingering = True
            protocol._disarm()
            transport.write_eof()
            transport.resume_reading()
            protocol.loop.call_later(LINGER_SECONDS, transport.close)
            return
        transport.close()
