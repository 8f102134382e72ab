"""The console under test: its app on the test database, accounts made through the service."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fangpin_common.county import load_county
from fangpin_common.testing import COUNTY_CONFIG, running, settings_for
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.rules import PasswordPolicy
from fangpin_console.main import create_app
from fangpin_console.settings import ConsoleSettings

PASSWORD = "Fangpin-Test-2024"
TOWNSHIP = "450224103"  # 板榄镇


def console_settings(database, nats_url: str, **overrides) -> ConsoleSettings:
    return settings_for(ConsoleSettings, database, nats_url, **overrides)


@pytest.fixture
async def console(database, nats_server):
    app = create_app(console_settings(database, nats_server.url))
    async with running(app) as client:
        client.app = app
        yield client


async def add_account(app, username: str, units: list[str], password: str = PASSWORD, *,
                      must_change: bool = False, admin: bool = False,
                      display_name: str | None = None):
    county = load_county(COUNTY_CONFIG)
    async with app.state.db.unit_of_work() as session:
        return await accounts.create(
            session, username=username, display_name=display_name or username, units=units,
            password=password, county=county, policy=PasswordPolicy(), now=datetime.now(UTC),
            actor="test", actor_role="test", is_admin=admin, must_change_password=must_change)


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


async def sign_in(client, username: str, password: str = PASSWORD, next_path: str = "/"):
    form = await client.get("/login")
    return await client.post("/login", data={"username": username, "password": password,
                                             "next": next_path, "csrf_token": csrf_of(form.text)})
