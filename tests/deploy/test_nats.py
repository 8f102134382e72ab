"""NATS: deploy/nats is a valid configuration with durable JetStream, and its users can do
exactly what the services and departments need — checked against a real nats-server running
that configuration, driven by the services' own Bus and Consumer code."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import urllib.request
import uuid

import nats
import nats.errors
import pytest
from nats.js.api import ConsumerConfig, StorageType

from fangpin_common.bus import Bus
from fangpin_common.clock import Clock
from fangpin_common.consumer import Consumer, Subscription
from fangpin_common.metrics import Metrics
from fangpin_common.natsserver import binary
from fangpin_common.testing import eventually

from .conftest import DEPLOY, NATS_USERS, ROOT, SERVICES, nats_password_env, settings_class

CONF = DEPLOY / "nats" / "nats.conf"
ACCOUNTS = DEPLOY / "nats" / "accounts.conf"


def nats_test_config(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([binary(), "-t", "-c", str(CONF)], check=False, env=env,
                          capture_output=True, text=True, timeout=30)


def test_nats_server_accepts_the_configuration():
    done = nats_test_config({**os.environ, **nats_password_env()})
    assert done.returncode == 0, done.stderr + done.stdout
    assert "valid" in done.stderr + done.stdout


def test_nats_server_refuses_to_start_without_a_password():
    env = {k: v for k, v in {**os.environ, **nats_password_env()}.items()
           if k != "NATS_DEPARTMENTS_PASSWORD"}
    done = nats_test_config(env)
    assert done.returncode != 0
    assert "NATS_DEPARTMENTS_PASSWORD" in done.stderr + done.stdout


def test_every_password_variable_is_supplied_by_compose_and_kubernetes():
    import yaml

    wanted = set(re.findall(r"\$(NATS_\w+_PASSWORD)", ACCOUNTS.read_text()))
    assert wanted == {f"NATS_{u.upper()}_PASSWORD" for u in NATS_USERS}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["nats"]
    assert set(compose["environment"]) == wanted
    statefulset = next(d for d in yaml.safe_load_all((DEPLOY / "k8s" / "nats.yaml").read_text())
                       if d["kind"] == "StatefulSet")
    env = statefulset["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {e["name"] for e in env} == wanted


def test_running_server_has_file_storage_fsynced_on_every_write(deploy_nats):
    with urllib.request.urlopen(f"http://127.0.0.1:{deploy_nats.http_port}/varz",
                                timeout=5) as r:
        varz = json.load(r)
    js = varz["jetstream"]["config"]
    assert js["store_dir"].startswith(str(deploy_nats.store_dir))
    assert js.get("sync_always") is True, js
    assert js["max_storage"] >= 20 * 1024**3
    text = CONF.read_text()
    assert re.search(r"^\s*sync_interval:\s*always\s*$", text, re.MULTILINE)
    assert re.search(r'^\s*store_dir:\s*"/data/jetstream"\s*$', text, re.MULTILINE)


class Errors:
    """Collects the asynchronous errors (permission violations) a connection reports."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def record(self, exc: Exception) -> None:
        self.messages.append(str(exc))

    async def denied(self, subject: str, timeout: float = 3.0) -> bool:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while loop.time() < end:
            # nats-py lower-cases the server's message.
            if any("permissions violation" in m.lower() and subject.lower() in m.lower()
                   for m in self.messages):
                return True
            await asyncio.sleep(0.02)
        return False


async def connect(deploy_nats, user: str, **kw):
    errors = Errors()
    nc = await nats.connect(deploy_nats.url(user), error_cb=errors.record, max_reconnect_attempts=0,
                            connect_timeout=3, **kw)
    return nc, errors


async def attempt(coro, timeout: float = 0.5) -> None:
    """Run a request the server is expected to drop: it times out or fails."""
    # The outcome is read from the server's error report, not from the client's exception.
    with contextlib.suppress(Exception):
        await asyncio.wait_for(coro, timeout)


async def start_bus(deploy_nats, service: str) -> Bus:
    settings = settings_class(service)(_env_file=None, nats_url=deploy_nats.url(service),
                                       county_config=ROOT / "config" / "county.yaml")
    bus = Bus(settings, Metrics(service))
    bus.start()
    await asyncio.wait_for(bus.ready.wait(), 15)
    return bus


async def test_services_publish_their_own_events_and_consume_each_other(deploy_nats):
    """The Bus of each service connects with its own user and provisions its stream; the
    monitoring relay's publish is acknowledged; each service's durable consumer reads it."""
    buses = {s: await start_bus(deploy_nats, s) for s in SERVICES}
    try:
        monitoring = buses["monitoring"]
        event_id = uuid.uuid4().hex
        ack = await monitoring.js.publish("fangpin.monitoring.deploy_test.created", b"{}",
                                          headers={"Nats-Msg-Id": event_id}, timeout=5)
        assert ack.stream == "FANGPIN_MONITORING"
        for s in SERVICES:
            await buses[s]._provision_stream()  # a restart updates the existing stream
            info = await monitoring.js.stream_info(f"FANGPIN_{s.upper()}")
            assert info.config.subjects == [f"fangpin.{s}.>"]
            assert info.config.storage == StorageType.FILE

        # Every service's durable consumer (as the consumer loop creates it) reads it.
        for service, bus in buses.items():
            sub = Subscription(durable=f"{service}-deploy-test", stream="FANGPIN_MONITORING",
                               subjects=["fangpin.monitoring.deploy_test.>"], handler=None)
            consumer = Consumer(sub, bus.settings, None, bus, bus.metrics, Clock())
            psub = await consumer._subscribe()  # the same call the consumer loop makes
            msgs = await psub.fetch(1, timeout=5)
            assert msgs[0].headers["Nats-Msg-Id"] == event_id
            await msgs[0].in_progress()
            await msgs[0].ack_sync(timeout=5)
            info = await bus.js.consumer_info("FANGPIN_MONITORING", sub.durable)
            assert info.ack_floor.stream_seq == ack.seq and info.num_ack_pending == 0
    finally:
        for bus in buses.values():
            await bus.close()


async def test_a_service_cannot_publish_for_another_or_destroy_streams(deploy_nats):
    buses = [await start_bus(deploy_nats, s) for s in ("monitoring", "employment")]
    nc, errors = await connect(deploy_nats, "monitoring")
    try:
        js = nc.jetstream(timeout=0.5)
        ack = await js.publish("fangpin.monitoring.deploy_test.checked", b"{}")
        assert ack.stream == "FANGPIN_MONITORING"
        forbidden = {
            "fangpin.employment.worker.returned_home":
                js.publish("fangpin.employment.worker.returned_home", b"{}"),
            "$JS.API.STREAM.DELETE.FANGPIN_EMPLOYMENT": js.delete_stream("FANGPIN_EMPLOYMENT"),
            "$JS.API.STREAM.DELETE.FANGPIN_MONITORING": js.delete_stream("FANGPIN_MONITORING"),
            "$JS.API.STREAM.PURGE.FANGPIN_MONITORING": js.purge_stream("FANGPIN_MONITORING"),
            "$JS.API.STREAM.UPDATE.FANGPIN_EMPLOYMENT": js.update_stream(
                name="FANGPIN_EMPLOYMENT", subjects=["fangpin.employment.>", "fangpin.x.>"]),
            "$JS.API.CONSUMER.DELETE.FANGPIN_MONITORING.employment-deploy-test":
                js.delete_consumer("FANGPIN_MONITORING", "employment-deploy-test"),
        }
        await asyncio.gather(*(attempt(c) for c in forbidden.values()))
        for subject in forbidden:
            assert await errors.denied(subject), (subject, errors.messages)
        # Nothing of the above happened.
        admin = await nats.connect(deploy_nats.url("admin"))
        try:
            info = await admin.jetstream().stream_info("FANGPIN_EMPLOYMENT")
            assert info.config.subjects == ["fangpin.employment.>"]
            assert (await admin.jetstream().stream_info("FANGPIN_MONITORING")).state.messages
        finally:
            await admin.close()
    finally:
        await nc.close()
        for bus in buses:
            await bus.close()


async def test_departments_read_everything_and_change_nothing(deploy_nats):
    monitoring = await start_bus(deploy_nats, "monitoring")
    nc, errors = await connect(deploy_nats, "departments")
    try:
        received = []

        async def on_message(msg) -> None:
            received.append(msg.subject)

        await nc.subscribe("fangpin.>", cb=on_message)
        # nats-py writes PING ahead of buffered commands, so one flush can return before the
        # server has the subscription; after the second, SUB is surely ahead of the PING.
        await nc.flush()
        await nc.flush()
        ack = await monitoring.js.publish("fangpin.monitoring.deploy_test.read", b'{"x": 1}')
        await eventually(lambda: "fangpin.monitoring.deploy_test.read" in received, timeout=10)
        # Stored events, read by sequence at the department's own pace.
        js = nc.jetstream(timeout=5)
        info = await js.stream_info("FANGPIN_MONITORING")
        assert info.state.last_seq >= ack.seq
        stored = await js.get_msg("FANGPIN_MONITORING", ack.seq)
        assert stored.data == b'{"x": 1}'

        js = nc.jetstream(timeout=0.5)
        forbidden = {
            "fangpin.monitoring.case.opened": js.publish("fangpin.monitoring.case.opened", b"{}"),
            "$JS.API.CONSUMER.DURABLE.CREATE.FANGPIN_MONITORING.dept":
                js.add_consumer("FANGPIN_MONITORING",
                                ConsumerConfig(durable_name="dept", ack_policy="explicit")),
            "$JS.API.CONSUMER.MSG.NEXT.FANGPIN_MONITORING.employment-deploy-test":
                nc.request("$JS.API.CONSUMER.MSG.NEXT.FANGPIN_MONITORING.employment-deploy-test",
                           b"1", timeout=0.5),
            "$JS.API.STREAM.DELETE.FANGPIN_MONITORING": js.delete_stream("FANGPIN_MONITORING"),
        }
        await asyncio.gather(*(attempt(c) for c in forbidden.values()))
        for subject in forbidden:
            assert await errors.denied(subject), (subject, errors.messages)
        assert not await errors.denied("fangpin.>", timeout=0.1)  # the subscription stood
    finally:
        await nc.close()
        await monitoring.close()


@pytest.mark.parametrize("user,password", [(None, None), ("monitoring", "wrong"),
                                           ("nobody", "x")])
async def test_unknown_or_anonymous_clients_are_refused(deploy_nats, user, password):
    url = deploy_nats.url() if user is None else deploy_nats.url(user, password)
    with pytest.raises((nats.errors.Error, OSError)):
        nc = await nats.connect(url, max_reconnect_attempts=0, allow_reconnect=False,
                                connect_timeout=3)
        await nc.close()


async def test_services_hear_the_consoles_session_revocations(deploy_nats):
    """With their own users, the four services follow the console's `session.revoked` (an
    ordered consumer with flow control), as their verifiers do in production."""
    from datetime import UTC, datetime, timedelta

    from fangpin_common.events.console import SessionRevoked, SessionRevokedData
    from fangpin_common.tokens import REVOKED_SUBJECT, Revocations, follow_revocations

    console = await start_bus(deploy_nats, "console")
    domain = [s for s in SERVICES if s != "console"]
    buses = {s: await start_bus(deploy_nats, s) for s in domain}
    heard = {s: Revocations() for s in domain}
    tasks = [asyncio.create_task(follow_revocations(buses[s], heard[s], buses[s].settings,
                                                    retry_seconds=0.2)) for s in domain]
    try:
        now = datetime.now(UTC)
        event = SessionRevoked(data=SessionRevokedData(
            session_id="s-deploy", reason="revoked", revoked_at=now,
            not_after=now + timedelta(minutes=15)))
        ack = await console.js.publish(REVOKED_SUBJECT, event.to_json(), timeout=5)
        assert ack.stream == "FANGPIN_CONSOLE"
        await eventually(lambda: all(heard[s].revoked("s-deploy") for s in domain), timeout=15)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for bus in [console, *buses.values()]:
            await bus.close()
