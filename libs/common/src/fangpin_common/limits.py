"""Request body limits and body-read deadlines, as pure ASGI middleware.

A 10 MB JSON body was read, parsed and echoed; a client sending its body a byte at a time held
a worker's connection for as long as it liked. This layer counts the bytes as they arrive (a
missing or lying Content-Length does not help) and refuses with 413 as soon as the limit is
passed, and gives the whole body a deadline (408). Both answers close the connection, so the
rest of an oversized body is never read. Header-read deadlines are below the ASGI layer (the
app is called only once the headers are complete): see `fangpin_common.serving`.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Bodies read as files (imports, uploads of comparison data) rather than JSON documents.
UPLOAD_TYPES = ("multipart/form-data", "application/octet-stream", "text/csv",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-excel")


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:g} MB"


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"请求体过大：不能超过 {_mib(limit)}",
                         headers={"Connection": "close"})


class BodyTooSlow(HTTPException):
    def __init__(self, seconds: float) -> None:
        super().__init__(408, detail=f"请求体未能在 {seconds:g} 秒内发送完毕",
                         headers={"Connection": "close"})


class BodyLimits:
    """413 above `json_bytes` (or `upload_bytes` for files), 408 after `read_seconds`."""

    def __init__(self, app: ASGIApp, json_bytes: int, upload_bytes: int,
                 read_seconds: float) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes
        self.read_seconds = read_seconds

    def limit_for(self, scope: Scope) -> int:
        content_type = ""
        for name, value in scope.get("headers", ()):
            if name == b"content-type":
                content_type = value.decode("latin-1").lower()
        if content_type.startswith(UPLOAD_TYPES):
            return self.upload_bytes
        return self.json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _answer(send, BodyTooLarge(limit))
                    return
        received = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_seconds
        body_done = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                # After the body only a disconnect can come: no deadline for that wait.
                return await receive()
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow(self.read_seconds) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except (BodyTooLarge, BodyTooSlow) as exc:
            # Raised outside a FastAPI route (whose handlers answer it themselves). FastAPI lets
            # only its own HTTPException through a body read; any other error becomes a 400.
            if not started:
                await _answer(send, exc)


async def _answer(send: Send, exc: HTTPException) -> None:
    body = json.dumps({"detail": exc.detail}, ensure_ascii=False).encode()
    headers: list[tuple[bytes, bytes]] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": exc.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def install(app: Any, json_bytes: int, upload_bytes: int, read_seconds: float) -> None:
    """Outermost middleware: nothing reads a byte of the body before it is counted."""
    app.add_middleware(BodyLimits, json_bytes=json_bytes, upload_bytes=upload_bytes,
                       read_seconds=read_seconds)
