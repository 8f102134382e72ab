"""The console's tokens at the four domain services: a revoked session is refused by all of
them at once (the console's `session.revoked` event, a deny-list by sid), and a key rotation
keeps old tokens valid while new ones are signed with the new key (JWKS over real HTTP)."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta

import jwt
import uvicorn
from sqlalchemy import update

from fangpin_common.natsserver import free_port
from fangpin_common.testing import auth, eventually, running, settings_for
from fangpin_common.tokens import mint
from fangpin_console.keys import service as keys
from fangpin_console.keys.models import SigningKeyRow
from fangpin_employment.main import create_app as employment_app
from fangpin_employment.settings import EmploymentSettings
from fangpin_industry.main import create_app as industry_app
from fangpin_industry.settings import IndustrySettings
from fangpin_monitoring.main import create_app as monitoring_app
from fangpin_monitoring.settings import MonitoringSettings
from fangpin_notifications.main import create_app as notifications_app
from fangpin_notifications.settings import NotificationsSettings

from .conftest import add_account
from .test_accounts import password_grant

DOMAIN = {"monitoring": (monitoring_app, MonitoringSettings),
          "employment": (employment_app, EmploymentSettings),
          "industry": (industry_app, IndustrySettings),
          "notifications": (notifications_app, NotificationsSettings)}
LEAD = "county.rural_revitalisation"


def domain_settings(name: str, database, nats_url: str, **trust):
    # HTTP and token checks only: no relay, consumers or scanners to wait for.
    return settings_for(DOMAIN[name][1], database, nats_url, run_relay=False,
                        run_consumers=False, run_scanners=False, **trust)


@asynccontextmanager
async def domain_services(database, nats_url: str, names=tuple(DOMAIN), **trust):
    async with AsyncExitStack() as stack:
        clients = {}
        for name in names:
            app = DOMAIN[name][0](domain_settings(name, database, nats_url, **trust))
            clients[name] = await stack.enter_async_context(running(app))
        yield clients


async def statuses(clients, headers) -> dict[str, int]:
    return {name: (await c.get("/admin/outbox", headers=headers)).status_code
            for name, c in clients.items()}


async def test_a_revoked_session_is_refused_by_all_four_services(console, database, nats_server):
    await add_account(console.app, "admin", [LEAD], admin=True)
    await add_account(console.app, "lu.qiang", [LEAD])
    jwks = json.dumps(await console.app.state.console.keys.jwks())
    admin = auth((await password_grant(console, "admin")).json()["access_token"])
    grant = (await password_grant(console, "lu.qiang")).json()
    other = auth((await password_grant(console, "lu.qiang")).json()["access_token"])
    token = auth(grant["access_token"])
    sid = jwt.decode(grant["access_token"], options={"verify_signature": False})["sid"]

    async with domain_services(database, nats_server.url, jwks=jwks) as clients:
        assert await statuses(clients, token) == dict.fromkeys(DOMAIN, 200)
        started = time.perf_counter()
        revoked = await console.post(f"/api/v1/sessions/{sid}/revoke", headers=admin)
        assert revoked.status_code == 200

        async def all_refuse():
            return set((await statuses(clients, token)).values()) == {401}

        await eventually(all_refuse, timeout=10, interval=0.02)
        print(f"\nrevoked session refused by all four services after "
              f"{(time.perf_counter() - started) * 1000:.0f} ms")
        refused = await clients["monitoring"].get("/admin/outbox", headers=token)
        assert refused.json() == {"detail": "访问令牌无效或已过期，请重新登录"}
        # By session: the same person's other session is untouched.
        assert await statuses(clients, other) == dict.fromkeys(DOMAIN, 200)

    # A replica started after the revocation refuses it too: it reads the revocations of the
    # last token lifetime from the console's stream when it starts.
    async with domain_services(database, nats_server.url, names=("industry",),
                               jwks=jwks) as late:
        app = late["industry"]._transport.app

        async def heard():
            return sid in app.state.verifier.revocations._until

        await eventually(heard, timeout=10)
        assert (await late["industry"].get("/admin/outbox", headers=token)).status_code == 401
        assert (await late["industry"].get("/admin/outbox", headers=other)).status_code == 200


@asynccontextmanager
async def served(app):
    """The (already started) app on a real port."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_key_rotation_old_tokens_stay_valid_new_ones_use_the_new_key(
        console, database, nats_server):
    app = console.app
    runtime = app.state.console
    await add_account(app, "lu.qiang", [LEAD])
    async with served(app) as base, domain_services(
            database, nats_server.url, names=("monitoring",), jwks=None,
            jwks_url=f"{base}/.well-known/jwks.json", jwks_min_refetch_seconds=0.0,
            jwks_cache_seconds=0.5) as clients:
        monitoring = clients["monitoring"]
        old = (await password_grant(console, "lu.qiang")).json()["access_token"]
        old_kid = jwt.get_unverified_header(old)["kid"]
        assert (await monitoring.get("/admin/outbox", headers=auth(old))).status_code == 200

        async with app.state.db.unit_of_work() as session:
            await keys.rotate(session, datetime.now(UTC))
        await runtime.keys.ring(force=True)
        new = (await password_grant(console, "lu.qiang")).json()["access_token"]
        new_kid = jwt.get_unverified_header(new)["kid"]
        assert new_kid != old_kid
        published = (await console.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in published["keys"]] == [new_kid, old_kid]
        assert all("d" not in k for k in published["keys"])  # never the private half

        # The service learns the new key on its first token (unknown kid → refetch), and the
        # old key's tokens stay valid until they expire.
        assert (await monitoring.get("/admin/outbox", headers=auth(new))).status_code == 200
        assert (await monitoring.get("/admin/outbox", headers=auth(old))).status_code == 200
        ring = await runtime.keys.ring()
        old_key = next(k for k in ring.published if k.kid == old_kid)
        expired = mint(old_key, runtime.principal("lu.qiang", LEAD), issuer="fangpin",
                       ttl=timedelta(minutes=15),
                       now=datetime.now(UTC) - timedelta(minutes=16))
        assert (await monitoring.get("/admin/outbox", headers=auth(expired))).status_code == 401

        # After the grace period the old key is no longer published, and once the service's
        # cached copy is stale it refuses what the old key signs (a token it already verified
        # stays valid until it expires, which the grace period guarantees is past).
        late = mint(old_key, runtime.principal("lu.qiang", LEAD), issuer="fangpin",
                    ttl=timedelta(minutes=15))
        async with app.state.db.unit_of_work() as session:
            await session.execute(update(SigningKeyRow).where(SigningKeyRow.kid == old_kid)
                                  .values(retired_at=datetime.now(UTC) - timedelta(hours=25)))
        await runtime.keys.ring(force=True)
        published = (await console.get("/.well-known/jwks.json")).json()
        assert [k["kid"] for k in published["keys"]] == [new_kid]
        await asyncio.sleep(0.6)
        assert (await monitoring.get("/admin/outbox", headers=auth(late))).status_code == 401
        assert (await monitoring.get("/admin/outbox", headers=auth(new))).status_code == 200
