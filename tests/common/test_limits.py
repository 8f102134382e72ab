"""Body limits by kind: JSON documents and uploaded files have their own limit, counted on the
bytes that arrive whether or not a Content-Length was sent."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from fangpin_common import limits
from fangpin_common.errors import install_error_handlers

KB = 1024


def app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/echo-size")
    async def size(request: Request) -> dict:
        return {"size": len(await request.body())}

    limits.install(app, json_bytes=64 * KB, upload_bytes=256 * KB, read_seconds=5)
    return app


async def post(body, content_type: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.post("/echo-size", content=body,
                                 headers={"content-type": content_type})


async def chunks(total: int):
    for _ in range(total // KB):
        yield b"x" * KB


async def test_json_and_uploads_have_their_own_limits():
    assert (await post(b"x" * 64 * KB, "application/json")).json() == {"size": 64 * KB}
    r = await post(b"x" * (64 * KB + 1), "application/json")
    assert r.status_code == 413 and r.json() == {"detail": "请求体过大：不能超过 0.0625 MB"}
    upload = "multipart/form-data; boundary=x"
    assert (await post(b"x" * 200 * KB, upload)).json() == {"size": 200 * KB}
    assert (await post(b"x" * 300 * KB, upload)).status_code == 413


async def test_a_body_without_length_is_counted_as_it_arrives():
    assert (await post(chunks(32 * KB), "application/json")).json() == {"size": 32 * KB}
    r = await post(chunks(100 * KB), "application/json")
    assert r.status_code == 413 and r.headers["connection"] == "close"
