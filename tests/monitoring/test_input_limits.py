"""Body limits and slow clients against a real uvicorn on a free port, real sockets: a 20 MB
body is refused with 413 in Chinese (declared or streamed) and the service keeps answering;
request heads and bodies sent a byte at a time are cut off."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import httpx
import pytest

from fangpin_common import cli, migrations
from fangpin_common.natsserver import free_port
from fangpin_common.serving import H11, UVICORN_FLAGS
from fangpin_common.testing import (
    COUNTY_CONFIG,
    REPO_ROOT,
    auth,
    served,
    settings_for,
    token_for,
)
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

from .conftest import household

TOWNSHIP = auth(token_for("township", "板榄镇"))
HEAD_SECONDS = 1.0
BODY_SECONDS = 1.5


class QuickH11(H11):
    head_timeout_seconds = HEAD_SECONDS


@pytest.fixture
def backend() -> str:
    return "sqlite"  # sockets and framing: the database does not matter here


@pytest.fixture
async def server(database, nats_server, clock):
    settings = settings_for(MonitoringSettings, database, nats_server.url,
                            body_timeout_seconds=BODY_SECONDS, run_scanners=False)
    await migrations.upgrade("monitoring", settings)
    with served(create_app(settings, clock), http=QuickH11) as url:
        split = urlsplit(url)
        yield url, split.hostname, split.port


async def read_answer(reader: asyncio.StreamReader, timeout: float = 10) -> tuple[int, dict]:
    raw = await asyncio.wait_for(reader.read(-1), timeout)  # until the server closes
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body) if body else {}


async def test_a_20mb_body_is_413_in_chinese_and_the_next_request_works(server):
    url, host, port = server
    huge = b'{"township": "' + b"x" * (20 * 1024 * 1024) + b'"}'
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post("/api/v1/households", content=huge,
                              headers=TOWNSHIP | {"content-type": "application/json"})
        assert r.status_code == 413
        assert r.json() == {"detail": "请求体过大：不能超过 4 MB"}
        assert len(r.content) < 200

    # Streamed without a length: the bytes are counted as they come, 413 past 4 MB.
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /api/v1/households HTTP/1.1\r\nHost: t\r\n"
                 b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
                 + f"Authorization: {TOWNSHIP['Authorization']}\r\n\r\n".encode())
    chunk = b"x" * 65536
    for _ in range(5 * 16):  # 5 MB: past the limit, and the server stops reading
        writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        await writer.drain()
    status, body = await read_answer(reader)
    writer.close()
    assert (status, body) == (413, {"detail": "请求体过大：不能超过 4 MB"})

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        r = await client.post("/api/v1/households", json=household(), headers=TOWNSHIP)
        assert r.status_code == 201, r.text


async def test_request_heads_trickled_byte_by_byte_are_cut_off(server):
    url, host, port = server
    head = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 200

    async def trickle() -> float:
        started = time.monotonic()
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                if await _closed(reader, 0.1):
                    return time.monotonic() - started
            return float("inf")
        except ConnectionError:
            return time.monotonic() - started
        finally:
            writer.close()

    slow = [asyncio.create_task(trickle()) for _ in range(100)]
    await asyncio.sleep(0.3)
    async with httpx.AsyncClient(base_url=url, timeout=5) as client:
        assert (await client.get("/healthz")).status_code == 200  # others still served
    lasted = await asyncio.gather(*slow)
    # Each was closed about HEAD_SECONDS after it opened (200 bytes would take 20 s).
    assert max(lasted) < HEAD_SECONDS + 3, sorted(lasted)[-5:]
    assert min(lasted) >= HEAD_SECONDS - 0.2


async def test_a_body_trickled_byte_by_byte_is_408_and_closed(server):
    _, host, port = server
    body = json.dumps(household()).encode()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /api/v1/households HTTP/1.1\r\nHost: t\r\n"
                 + f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n".encode()
                 + f"Authorization: {TOWNSHIP['Authorization']}\r\n\r\n".encode())
    started = time.monotonic()
    for byte in body:
        writer.write(bytes([byte]))
        await writer.drain()
        if await _closed(reader, 0.2, peek=True):
            break
    status, answer = await read_answer(reader)
    writer.close()
    assert time.monotonic() - started < BODY_SECONDS + 3
    assert status == 408
    assert answer == {"detail": f"请求体未能在 {BODY_SECONDS:g} 秒内发送完毕"}


async def _closed(reader: asyncio.StreamReader, wait: float, peek: bool = False) -> bool:
    """Whether the server answered or closed within `wait` seconds."""
    if peek:
        await asyncio.sleep(wait)
        return bool(reader._buffer) or reader.at_eof()  # noqa: SLF001
    try:
        data = await asyncio.wait_for(reader.read(1), wait)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return data == b"" or bool(data)


def test_the_served_configuration_uses_the_guarded_protocol():
    dockerfile = (REPO_ROOT / "deploy" / "docker" / "Dockerfile").read_text()
    cmd = dockerfile[dockerfile.index("CMD exec uvicorn"):].replace("\\\n", " ")
    assert " ".join(UVICORN_FLAGS) in " ".join(cmd.split())
    assert "*UVICORN_FLAGS" in inspect.getsource(cli.cmd_run)


async def test_uvicorn_started_as_served_cuts_slow_heads(tmp_path, nats_server):
    """`uvicorn --factory … --http fangpin_common.serving:H11` in its own process, the
    deadline from FANGPIN_HEADER_TIMEOUT_SECONDS."""
    port = free_port()
    env = os.environ | {"FANGPIN_HEADER_TIMEOUT_SECONDS": "1",
                        "FANGPIN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/{{service}}.db",
                        "FANGPIN_NATS_URL": nats_server.url, "FANGPIN_AUTO_MIGRATE": "1",
                        "FANGPIN_COUNTY_CONFIG": str(COUNTY_CONFIG), "FANGPIN_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory",
                             "fangpin_monitoring.main:create_app", "--port", str(port),
                             "--no-access-log", *UVICORN_FLAGS], env=env)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            for _ in range(200):
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        closed_after = None
        for byte in b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                closed_after = time.monotonic() - started
                break
            if await _closed(reader, 0.1):
                closed_after = time.monotonic() - started
                break
        writer.close()
        assert closed_after is not None and 0.8 <= closed_after < 4, closed_after
    finally:
        proc.terminate()
        proc.wait(15)
