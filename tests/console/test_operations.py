"""The operators' commands behind `fangpin run`, `fangpin user add`, `fangpin token` and
`fangpin keys rotate`, on the console's own database."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

from fangpin_common.auth import Principal
from fangpin_console import operations
from fangpin_console.main import create_app

from .conftest import console_settings, sign_in


@pytest.fixture
def backend() -> str:
    return "sqlite"


async def test_first_administrator_once_with_a_one_time_password(database, nats_server):
    settings = console_settings(database, nats_server.url)
    username, password = await operations.ensure_first_admin(settings)
    assert username == "admin" and len(password) == 16
    assert await operations.ensure_first_admin(settings) is None  # never a second time

    from fangpin_common.testing import running

    async with running(create_app(settings)) as client:
        signed = await sign_in(client, "admin", password)
        assert signed.headers["location"] == "/password"  # must be changed at once


async def test_operator_tokens_and_rotation(database, nats_server):
    settings = console_settings(database, nats_server.url)
    county = Principal(sub="operator", role="county")
    first = await operations.operator_token(county, timedelta(hours=12), settings)
    kid = await operations.rotate_keys(settings)
    second = await operations.operator_token(county, timedelta(hours=1), settings)
    assert jwt.get_unverified_header(second)["kid"] == kid != jwt.get_unverified_header(first)["kid"]
    with pytest.raises(SystemExit):  # longer than the old key stays published
        await operations.operator_token(county, timedelta(hours=25), settings)

    from fangpin_common.testing import running

    app = create_app(settings)
    async with running(app):
        for token in (first, second):  # both keys verify during the grace period
            assert (await app.state.verifier.principal(token)).sub == "operator"
