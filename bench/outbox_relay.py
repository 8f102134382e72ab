"""Outbox → JetStream throughput next to raw nats-py JetStream publishing, in the same run.

For each database (SQLite, PostgreSQL) it fills the outbox with N events (timed apart), then
times the relay draining them to JetStream; the baseline publishes the same N payloads straight
to JetStream with nats-py (Nats-Msg-Id set, every ack awaited, pipelined in windows the size of
the relay's batch). Prints events/s and the ratio relay/raw (target ≥ 0.5). With
`sync_interval: always` (production) both are bound by the disk's fsync; with nats-server's
default sync the relay's own cost shows.

    .venv/bin/python bench/outbox_relay.py [--events 20000] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import nats

from fangpin_common import migrations, outbox
from fangpin_common.bus import Bus
from fangpin_common.db import Database
from fangpin_common.events.monitoring import CaseOpened, CaseOpenedData
from fangpin_common.metrics import Metrics
from fangpin_common.natsserver import NatsServer
from fangpin_common.outbox import Relay
from fangpin_common.testing import (
    COUNTY_CONFIG,
    POSTGRES_URL,
    drop_schema,
    ensure_postgres_database,
)
from fangpin_monitoring.settings import MonitoringSettings

BATCH = 500


def event(n: int) -> CaseOpened:
    return CaseOpened(subject=f"case-{n}", data=CaseOpenedData(
        case_id=f"case-{n}", household_id=str(uuid.uuid4()), township="450224103",
        village="板榄村", category="边缘易致贫户", risk_types=["因病", "因学"],
        inclusion_date=date(2024, 4, 1)))


async def raw_publish(url: str, events: list[CaseOpened]) -> float:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="BENCH_RAW", subjects=["bench.raw.>"])
    payloads = [(e.id, e.to_json()) for e in events]
    started = time.perf_counter()
    for i in range(0, len(payloads), BATCH):
        futures = [await js.publish_async("bench.raw.case.opened", body,
                                          headers={"Nats-Msg-Id": msg_id})
                   for msg_id, body in payloads[i:i + BATCH]]
        await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await nc.close()
    return len(events) / elapsed


def published(metrics: Metrics) -> float:
    return sum(s.value for m in metrics.registry.collect() if m.name == "fangpin_events_published"
               for s in m.samples if s.name.endswith("_total"))


async def relay_publish(settings: MonitoringSettings,
                        events: list[CaseOpened]) -> tuple[float, float]:
    await migrations.upgrade("monitoring", settings)
    db = Database(settings)
    metrics = Metrics("monitoring")
    bus = Bus(settings, metrics)
    bus.start()
    await asyncio.wait_for(bus.ready.wait(), 15)
    started = time.perf_counter()
    for i in range(0, len(events), 500):
        async with db.unit_of_work() as session:
            for e in events[i:i + 500]:
                await outbox.emit(session, e)
    fill_rate = len(events) / (time.perf_counter() - started)
    relay = Relay("monitoring", db, bus, metrics, batch_size=BATCH, idle_seconds=0.01)
    started = time.perf_counter()
    task = asyncio.create_task(relay.run())  # the relay as the service runs it
    while published(metrics) < len(events):
        await asyncio.sleep(0.005)
    rate = len(events) / (time.perf_counter() - started)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await bus.close()
    await db.dispose()
    return rate, fill_rate


async def run(backend: str, n: int, fsync: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="fangpin-bench-"))
    server = NatsServer(tmp / "nats", sync_always=fsync == "always").start()
    schema = None
    try:
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/{{service}}.db"
        else:
            await ensure_postgres_database(POSTGRES_URL)
            url, schema = POSTGRES_URL, f"bench_{uuid.uuid4().hex[:8]}"
        settings = MonitoringSettings(_env_file=None, database_url=url, database_schema=schema,
                                      nats_url=server.url, county_config=COUNTY_CONFIG,
                                      log_level="WARNING")
        raw = await raw_publish(server.url, [event(i) for i in range(n)])
        relayed, filled = await relay_publish(settings, [event(i) for i in range(n)])
        print(f"{backend:<11} fsync={fsync:<7} events={n:>7}  raw JetStream {raw:>9,.0f}/s  "
              f"outbox relay {relayed:>9,.0f}/s  ratio {relayed / raw:.2f}  "
              f"(outbox fill {filled:,.0f}/s)", flush=True)
    finally:
        server.stop()
        if schema:
            await drop_schema(POSTGRES_URL, schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--fsync", default="always,default",
                        help="nats-server JetStream sync: always (production) and/or default")
    args = parser.parse_args()
    print(f"outbox relay benchmark, {os.cpu_count()} cores, batch {BATCH}; target ratio ≥ 0.5")
    for fsync in args.fsync.split(","):
        for backend in args.backends.split(","):
            asyncio.run(run(backend, args.events, fsync))


if __name__ == "__main__":
    main()
