"""Real peers on loopback for the notifications tests: a private nats-server, an SMTP server
(aiosmtpd) and a small HTTP receiver that records requests and answers as scripted."""

from __future__ import annotations

import asyncio
import contextlib
import email
import json
from dataclasses import dataclass, field
from datetime import date
from email import policy
from pathlib import Path
from typing import Any

import nats
import pytest
import yaml
from aiosmtpd.controller import Controller
from nats.js.api import StreamConfig
from sqlalchemy import func
from sqlmodel import select

from fangpin_common.events import DeadlineData
from fangpin_common.natsserver import NatsServer, free_port
from fangpin_common.testing import COUNTY_CONFIG, eventually
from fangpin_notifications.deliveries.dispatcher import Dispatcher

TOWNSHIP = "450224103"  # 板榄镇
TOWNSHIP_UNIT = f"township.{TOWNSHIP}"


# -- SMTP --------------------------------------------------------------------------------------
class Mailbox:
    """An aiosmtpd handler: keeps every message, refuses the addresses in `refuse`."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp():
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


# -- HTTP --------------------------------------------------------------------------------------
@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers each path with its scripted replies first, then with the path's default."""

    requests: list[Request] = field(default_factory=list)
    scripts: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    port: int = 0

    DEFAULTS = {"/wecom": {"errcode": 0, "errmsg": "ok"},
                "/dingtalk": {"errcode": 0, "errmsg": "ok"},
                "/sms": {"Code": "OK"}}

    def script(self, path: str, *replies: tuple[int, Any]) -> None:
        self.scripts[path] = list(replies)

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                line = await reader.readline()
                if not line:
                    return
                method, target, _ = line.decode().split(" ", 2)
                headers: dict[str, str] = {}
                while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    key, value = h.decode().split(":", 1)
                    headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                path, _, query = target.partition("?")
                self.requests.append(Request(method, path, query, headers, body))
                if delay := self.delays.get(path):
                    await asyncio.sleep(delay)
                script = self.scripts.get(path)
                status, reply = script.pop(0) if script else (200, self.DEFAULTS.get(path, {"ok": True}))
                data = json.dumps(reply).encode()
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                             f"Content-Length: {len(data)}\r\n\r\n".encode() + data)
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()


@pytest.fixture
async def receiver():
    r = Receiver()
    server = await asyncio.start_server(r.handle, "127.0.0.1", 0)
    r.port = server.sockets[0].getsockname()[1]
    yield r
    server.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(server.wait_closed(), 2)


# -- NATS --------------------------------------------------------------------------------------
@pytest.fixture
def own_nats(tmp_path: Path):
    """A nats-server of this test alone: streams and durable consumers start empty."""
    server = NatsServer(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


async def publish(url: str, *events, msg_id: str | None = None) -> None:
    """Publish as the monitoring service's relay does (the stream is created if missing)."""
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(Exception):
            await js.add_stream(StreamConfig(name="FANGPIN_MONITORING",
                                             subjects=["fangpin.monitoring.>"]))
        for e in events:
            await js.publish(e.type, e.to_json(), headers={"Nats-Msg-Id": msg_id or e.id})
    finally:
        await nc.close()


async def stream_events(url: str, stream: str) -> list[dict]:
    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except Exception:
            return []
        out = []
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            with contextlib.suppress(Exception):
                out.append(json.loads((await js.get_msg(stream, seq)).data))
        return out
    finally:
        await nc.close()


# -- events and configuration -----------------------------------------------------------------
def deadline(kind: str = "case.helper", n: int = 1, township: str = TOWNSHIP,
             village: str = "板榄村", days_overdue: int = 1, **context) -> DeadlineData:
    return DeadlineData(deadline_id=f"d-{kind}-{n}", kind=kind, subject_type="case",
                        subject_id=f"case-{n}", household_id=f"hh-{n}", township=township,
                        village=village, started_on=date(2024, 4, 1), due_on=date(2024, 4, 6),
                        days_overdue=days_overdue, context=context)


def county_file(tmp_path: Path, routing: list[dict], units: list[dict] = (),
                name: str = "county.yaml") -> Path:
    """The county file with these routing rules and extra (or replaced) units."""
    raw = yaml.safe_load(COUNTY_CONFIG.read_text(encoding="utf-8"))
    codes = {u["code"] for u in units}
    raw["units"] = [u for u in raw["units"] if u["code"] not in codes] + list(units)
    raw["routing"] = routing
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def fast_channels(**changes) -> dict:
    """Channel policies for tests: quick back-off, no rate limit to speak of, no quiet hours."""
    base = {"timeout_seconds": 2, "max_attempts": 4, "backoff_base_seconds": 0.05,
            "backoff_max_seconds": 0.2, "rate_per_minute": 6000, "burst": 100,
            "quiet_hours": None}
    return {c: base | changes.get(c, {}) for c in ("email", "wecom", "dingtalk", "webhook", "sms")}


async def count(app, model, *where) -> int:
    async with app.state.db.session() as session:
        query = select(func.count()).select_from(model)
        for w in where:
            query = query.where(w)
        return (await session.exec(query)).one()


def metric(app, name: str, **labels) -> float:
    return sum(s.value for m in app.state.metrics.registry.collect() for s in m.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


class DispatchRounds:
    """Finished rounds of the dispatcher's channel loops (recovery, claim, sends), counted
    so that a test can wait for a round that started after some moment instead of sleeping."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.done: dict[str, int] = {}
        original = Dispatcher.dispatch_once

        async def counted(dispatcher, channel: str):
            try:
                return await original(dispatcher, channel)
            finally:
                self.done[channel] = self.done.get(channel, 0) + 1

        monkeypatch.setattr(Dispatcher, "dispatch_once", counted)

    async def two_more(self, channel: str) -> None:
        """The second round to finish from now started after now: whatever was due then, it
        has claimed and sent."""
        target = self.done.get(channel, 0) + 2
        await eventually(lambda: self.done.get(channel, 0) >= target, timeout=30)


@pytest.fixture
def dispatch_rounds(monkeypatch: pytest.MonkeyPatch) -> DispatchRounds:
    return DispatchRounds(monkeypatch)
