"""Notifications throughput: events/s from JetStream to stored inbox reminders.

For each database (SQLite, PostgreSQL), in one run on one private nats-server:
  1. N deadline events are published to FANGPIN_MONITORING;
  2. baseline: a durable pull consumer fetches and acks them (same batch size as the service);
  3. the notifications service drains the same N events into inbox reminders, with one rule
     and then three rules matching each event (a fresh database each time);
  4. latency: with the service idle, events are published at a steady pace and the time from
     each event's `time` to its stored reminder is measured (p50, p99).
Prints events/s, the ratio service/baseline (target ≥ 0.3 for the inbox path) and latencies;
repeated `--rounds` times (baseline measured again each round), then the median ratios.

    .venv/bin/python bench/notifications_throughput.py [--events 5000] [--rounds 3]
                                                      [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import nats
import yaml
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig
from sqlalchemy import select

from fangpin_common.events import DeadlineData
from fangpin_common.events.monitoring import CaseHelperOverdue
from fangpin_common.natsserver import NatsServer
from fangpin_common.testing import (
    COUNTY_CONFIG,
    POSTGRES_URL,
    drop_schema,
    postgres_available,
    running,
    settings_for,
)
from fangpin_notifications.inbox.models import Reminder
from fangpin_notifications.main import create_app
from fangpin_notifications.settings import NotificationsSettings

STREAM = "FANGPIN_MONITORING"
TYPE = CaseHelperOverdue.event_type()
TOWNSHIPS = ["450224100", "450224101", "450224102", "450224103", "450224104", "450224105"]
RULE = {"event": TYPE, "channels": ["inbox"],
        "template": "【已逾期】监测户（户编号 {household_id}）纳入后5天内未安排帮扶责任人（期限 {due_on}，"
                    "已逾期 {days_overdue} 天），请立即落实。"}
RULES = {
    1: [RULE | {"recipients": ["township"]}],
    3: [RULE | {"id": "t", "recipients": ["township"]},
        RULE | {"id": "c", "recipients": ["county"]},
        RULE | {"id": "v", "recipients": ["village"]}],
}


def event(i: int) -> CaseHelperOverdue:
    return CaseHelperOverdue(subject=f"case-{i}", data=DeadlineData(
        deadline_id=str(uuid.uuid4()), kind="case.helper", subject_type="case",
        subject_id=f"case-{i}", household_id=f"hh-{i}", township=TOWNSHIPS[i % len(TOWNSHIPS)],
        village=f"村{i % 50}", started_on=date(2024, 4, 1), due_on=date(2024, 4, 6),
        days_overdue=1))


def county_file(folder: Path, rules: list[dict]) -> Path:
    raw = yaml.safe_load(COUNTY_CONFIG.read_text(encoding="utf-8"))
    raw["routing"] = rules
    path = folder / f"county-{len(rules)}.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


async def publish(js, events) -> None:
    pending = []
    for e in events:
        pending.append(await js.publish_async(e.type, e.to_json(), headers={"Nats-Msg-Id": e.id}))
        if len(pending) >= 1000:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)


async def raw_rate(js, n: int, batch: int) -> float:
    durable = f"raw-{uuid.uuid4().hex[:6]}"
    await js.add_consumer(STREAM, ConsumerConfig(durable_name=durable,
                                                 ack_policy=AckPolicy.EXPLICIT,
                                                 max_ack_pending=10_000))
    sub = await js.pull_subscribe_bind(durable=durable, stream=STREAM)
    started = time.perf_counter()
    seen = 0
    while seen < n:
        for msg in await sub.fetch(batch, timeout=2):
            await msg.ack()
            seen += 1
    elapsed = time.perf_counter() - started
    await sub.unsubscribe()
    await js.delete_consumer(STREAM, durable)
    return n / elapsed


def stored(app) -> float:
    """Reminders stored so far, read from the service's own counter (no database query)."""
    sent = app.state.notifier.metrics.sent
    return sum(sent.labels("inbox", rule.name)._value.get()
               for rule in app.state.notifier.rules.rules)


async def wait_for(app, target: float, timeout: float = 120) -> None:
    end = time.perf_counter() + timeout
    while stored(app) < target:
        if time.perf_counter() > end:
            raise TimeoutError(f"only {stored(app)} of {target} reminders stored")
        await asyncio.sleep(0.02)


async def service_run(js, nats_url: str, database: dict, folder: Path, n_rules: int, n: int,
                      paced: int, pace: float) -> tuple[float, list[float]]:
    with __import__("contextlib").suppress(Exception):
        await js.delete_consumer(STREAM, "notifications-monitoring")
    settings = settings_for(NotificationsSettings, database, nats_url,
                            county_config=county_file(folder, RULES[n_rules]),
                            log_level="ERROR", escalation_interval_seconds=3600,
                            digest_interval_seconds=3600,
                            # production values (the test helper polls faster)
                            relay_idle_seconds=0.2, consumer_ack_wait_seconds=30)
    app = create_app(settings)
    # The stream also holds the paced events of earlier runs: all of it is the backlog.
    backlog = (await js.stream_info(STREAM)).state.messages
    async with running(app):
        started = time.perf_counter()
        await wait_for(app, backlog * n_rules)
        rate = backlog / (time.perf_counter() - started)
        # Latency: a steady stream while the service is idle.
        paced_events = [event(10_000_000 + i) for i in range(paced)]
        for e in paced_events:
            fresh = e.model_copy(update={"time": datetime.now(UTC)})
            await js.publish(fresh.type, fresh.to_json(), headers={"Nats-Msg-Id": fresh.id})
            await asyncio.sleep(1 / pace)
        await wait_for(app, (backlog + paced) * n_rules)
        ids = {e.id for e in paced_events}
        async with app.state.db.session() as session:
            rows = (await session.exec(select(Reminder.event_id, Reminder.event_time,
                                                 Reminder.created_at))).all()
    latencies = [(c - t).total_seconds() for i, t, c in rows if i in ids]
    return rate, latencies


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 \
        else (values[0] if values else float("nan"))


async def bench(backend: str, n: int, paced: int, pace: float, rounds: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="fangpin-bench-"))
    if backend == "postgresql":
        reason = await postgres_available()
        if reason:
            print(f"postgresql: skipped ({reason})")
            return
    server = NatsServer(folder / "nats").start()
    nc = await nats.connect(server.url)
    js = nc.jetstream(timeout=30)
    schemas: list[str] = []
    try:
        await js.add_stream(StreamConfig(name=STREAM, subjects=["fangpin.monitoring.>"]))
        await publish(js, [event(i) for i in range(n)])
        batch = NotificationsSettings.model_fields["consumer_batch_size"].default
        print(f"\n== {backend}: {n} events, batch {batch}, nats-server {server.url}")
        ratios: dict[int, list[float]] = {1: [], 3: []}
        for round_ in range(1, rounds + 1):
            # Each ratio compares runs made next to each other: a shared machine's load
            # changes over a minute, so the baseline is measured again every round.
            raw = await raw_rate(js, n, batch)
            print(f"round {round_}: baseline pull+ack {raw:8.0f} events/s")
            for n_rules in (1, 3):
                if backend == "sqlite":
                    database = {"database_url": f"sqlite+aiosqlite:///{folder}/"
                                                f"{round_}-{n_rules}-{{service}}.db",
                                "database_schema": None}
                else:
                    database = {"database_url": POSTGRES_URL, "database_schema": None,
                                "_schemas": schemas}
                rate, latencies = await service_run(js, server.url, database, folder, n_rules,
                                                    n, paced, pace)
                ratios[n_rules].append(rate / raw)
                print(f"  service, {n_rules} rule(s)/event: {rate:8.0f} events/s   ratio "
                      f"{rate / raw:5.2f}   latency p50 {pct(latencies, 50) * 1000:6.1f} ms  "
                      f"p99 {pct(latencies, 99) * 1000:6.1f} ms  ({len(latencies)} reminders "
                      f"of events paced at {pace:.0f}/s)")
        for n_rules, values in ratios.items():
            print(f"{backend}: median ratio, {n_rules} rule(s)/event: "
                  f"{statistics.median(values):.2f}  (rounds: "
                  f"{', '.join(f'{v:.2f}' for v in values)})")
    finally:
        await nc.close()
        server.stop()
        for schema in schemas:
            await drop_schema(POSTGRES_URL, schema)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--paced", type=int, default=500, help="events for the latency phase")
    parser.add_argument("--pace", type=float, default=200.0, help="paced events per second")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        await bench(backend.strip(), args.events, args.paced, args.pace, args.rounds)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
