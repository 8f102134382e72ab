"""Authentication overhead: requests/s of an authorised read against the same read with
authentication off, in one run.

The monitoring service on SQLite serves GET /api/v1/households/{id} to a township. With
authentication on, every request's Bearer token (EdDSA, with a session id) is verified with
the cached public key (its signature once per token, then from the verified-token cache) and
checked for expiry and against the revoked-session list, as in production; with it
off, the caller is a fixed Principal (a dependency override). Rounds alternate the two modes
so that drift affects both; the median of the rounds' ratios is reported. Target ratio ≥ 0.9.

    .venv/bin/python bench/auth_overhead.py [--requests 3000] [--concurrency 16] [--rounds 4]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from fangpin_common import migrations
from fangpin_common.auth import current_principal
from fangpin_common.natsserver import NatsServer
from fangpin_common.testing import COUNTY_CONFIG, TEST_JWKS, auth, token_for
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

HOUSEHOLD = {"township": "板榄镇", "village": "板榄村", "category": "脱贫户", "members": [{
    "name": "韦明", "id_number": "450224198001010019", "sex": "男", "birth_date": "1980-01-01",
    "relation": "户主", "labour_capacity": "普通劳动力"}]}


async def measure(client: httpx.AsyncClient, path: str, headers: dict, requests: int,
                  concurrency: int) -> float:
    per_worker = requests // concurrency

    async def worker() -> None:
        for _ in range(per_worker):
            answer = await client.get(path, headers=headers)
            if answer.status_code != 200:
                raise RuntimeError(f"{answer.status_code} {answer.text}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return per_worker * concurrency / (time.perf_counter() - started)


async def main(args: argparse.Namespace) -> int:
    work = Path(tempfile.mkdtemp(prefix="fangpin-auth-bench-"))
    nats = NatsServer(work / "nats")
    nats.start()
    try:
        settings = MonitoringSettings(
            _env_file=None, database_url=f"sqlite+aiosqlite:///{work}/{{service}}.db",
            nats_url=nats.url, county_config=COUNTY_CONFIG, jwks=TEST_JWKS, jwks_url=None,
            run_relay=False, run_consumers=False, run_scanners=False, log_level="WARNING")
        await migrations.upgrade("monitoring", settings)
        app = create_app(settings)
        township_token = token_for("township", "板榄镇", sid="bench-session")
        principal = await app.state.verifier.principal(township_token)
        # A few revoked sessions, so the deny-list lookup is not of an empty list.
        for i in range(100):
            app.state.verifier.revocations.add(f"revoked-{i}",
                                               datetime.now(UTC) + timedelta(minutes=15))
        verifier = app.state.verifier
        started = time.perf_counter()
        for _ in range(2000):
            await verifier._verify(township_token)  # the signature check, uncached
        signature_us = (time.perf_counter() - started) / 2000 * 1e6
        started = time.perf_counter()
        for _ in range(5000):
            await verifier.principal(township_token)
        verify_us = (time.perf_counter() - started) / 5000 * 1e6

        async def fixed_principal():  # async: a sync override would run in the thread pool
            return principal

        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                created = await client.post("/api/v1/households", json=HOUSEHOLD,
                                            headers=auth(township_token))
                assert created.status_code == 201, created.text
                path = f"/api/v1/households/{created.json()['id']}"
                headers = auth(township_token)
                # Warm-up of both paths.
                await measure(client, path, headers, 400, args.concurrency)
                figures: dict[str, list[float]] = {"on": [], "off": []}
                for round_ in range(args.rounds):
                    for mode in (("on", "off") if round_ % 2 == 0 else ("off", "on")):
                        if mode == "off":
                            app.dependency_overrides[current_principal] = fixed_principal
                        else:
                            app.dependency_overrides.pop(current_principal, None)
                        figures[mode].append(await measure(client, path, headers,
                                                           args.requests, args.concurrency))
                app.dependency_overrides.clear()
    finally:
        nats.stop()
    on, off = statistics.median(figures["on"]), statistics.median(figures["off"])
    print(f"authorised read (Bearer EdDSA, cached JWKS, deny-list): {on:8.0f} requests/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in figures['on'])})")
    print(f"same read, authentication off:                         {off:8.0f} requests/s "
          f"(rounds: {', '.join(f'{x:.0f}' for x in figures['off'])})")
    # Each round measures both modes back to back: its ratio is least affected by load drift.
    ratios = [a / b for a, b in zip(figures["on"], figures["off"], strict=True)]
    ratio = statistics.median(ratios)
    print(f"ratio on/off: {ratio:.3f} (median of the rounds' ratios: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); target ≥ 0.9")
    print(f"verification per request: {verify_us:.1f} µs (a token seen before: expiry and "
          f"deny-list only); first sight of a token (EdDSA signature): {signature_us:.0f} µs")
    return 0 if ratio >= 0.9 else 1

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    sys.exit(asyncio.run(main(parser.parse_args())))
