"""What operators do from the command line on the console's machine (`fangpin token`,
`fangpin user add`, `fangpin keys rotate`, the first administrator of `fangpin run`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from fangpin_common import migrations
from fangpin_common.auth import Principal
from fangpin_common.county import load_county
from fangpin_common.db import Database
from fangpin_common.tokens import mint
from fangpin_console.accounts import passwords
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.models import Account
from fangpin_console.accounts.rules import PasswordPolicy
from fangpin_console.keys import service as keys
from fangpin_console.settings import ConsoleSettings


def _policy(settings: ConsoleSettings) -> PasswordPolicy:
    return PasswordPolicy(settings.password_min_length, settings.password_min_classes)


async def _database(settings: ConsoleSettings) -> Database:
    await migrations.upgrade("console", settings)
    return Database(settings)


async def operator_token(principal: Principal, ttl: timedelta,
                         settings: ConsoleSettings | None = None) -> str:
    """A token for operators and scripts, signed with the console's current key. Capped at the
    key grace period, so it expires before a rotated-out key stops being published."""
    settings = settings or ConsoleSettings()
    grace = timedelta(hours=settings.signing_key_grace_hours)
    if ttl > grace:
        raise SystemExit(f"a token lives at most {settings.signing_key_grace_hours} hours "
                         "(FANGPIN_CONSOLE_SIGNING_KEY_GRACE_HOURS)")
    db = await _database(settings)
    try:
        async with db.unit_of_work() as session:
            ring = await keys.ensure_key(session, datetime.now(UTC), grace)
    finally:
        await db.dispose()
    return mint(ring.signing, principal, issuer=settings.jwt_issuer, ttl=ttl,
                audience=settings.jwt_audience)


async def rotate_keys(settings: ConsoleSettings | None = None) -> str:
    """A new signing key; the old one keeps verifying for the grace period. Returns the kid."""
    settings = settings or ConsoleSettings()
    db = await _database(settings)
    try:
        async with db.unit_of_work() as session:
            key = await keys.rotate(session, datetime.now(UTC))
    finally:
        await db.dispose()
    return key.kid


async def add_user(username: str, display_name: str, units: list[str], *, admin: bool,
                   password: str | None = None,
                   settings: ConsoleSettings | None = None) -> str:
    """An account with a one-time password (returned) that must be changed at first sign-in."""
    settings = settings or ConsoleSettings()
    county = load_county(settings.county_config)
    password = password or passwords.one_time_password()
    db = await _database(settings)
    try:
        async with db.unit_of_work() as session:
            await accounts.create(session, username=username, display_name=display_name,
                                  units=units, password=password, county=county,
                                  policy=_policy(settings), now=datetime.now(UTC),
                                  actor="operator", actor_role="operator", is_admin=admin)
    finally:
        await db.dispose()
    return password


async def ensure_first_admin(settings: ConsoleSettings | None = None) -> tuple[str, str] | None:
    """On a console with no account yet: an administrator in the county's lead unit, with a
    one-time password — (username, password), to be shown once. None when accounts exist."""
    settings = settings or ConsoleSettings()
    db = await _database(settings)
    try:
        async with db.session() as session:
            any_account = (await session.execute(select(Account.id).limit(1))).first()
    finally:
        await db.dispose()
    if any_account is not None:
        return None
    county = load_county(settings.county_config)
    username = settings.first_admin_username
    password = await add_user(username, "系统管理员", [county.county.lead_unit], admin=True,
                              settings=settings)
    return username, password
