"""The token endpoint's grants: password, refresh token, client credentials. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.auth import Principal
from fangpin_common.tokens import mint, unit_principal
from fangpin_console.accounts import audit, rules
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.models import Account
from fangpin_console.runtime import Console
from fangpin_console.sessions import rules as session_rules
from fangpin_console.sessions import service as sessions


class GrantError(Exception):
    """An OAuth 2.0 error (RFC 6749 §5.2); `description` is what the caller reads."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass(frozen=True)
class Issued:
    access_token: str
    expires_in: int
    refresh_token: str | None = None


def _usable(account: Account, now: datetime) -> str | None:
    if account.disabled:
        return "账号已停用，请联系管理员"
    if rules.locked(account.locked_until, now):
        return "账号已锁定，请稍后再试"
    if account.must_change_password:
        return "密码已被重置，请先登录工作台修改密码"
    return None


async def password_grant(db: AsyncSession, console: Console, *, username: str, password: str,
                         unit: str | None, address: str | None,
                         user_agent: str | None) -> Issued | GrantError:
    """A person's API session. A refusal is returned, not raised: its writes (failure count,
    lock, audit) must commit."""
    now = console.now()
    settings = console.settings
    outcome = await accounts.sign_in(
        db, username=username, password=password, now=now, unit=unit,
        max_failures=settings.sign_in_max_failures,
        lockout=timedelta(minutes=settings.lockout_minutes), client_address=address)
    if not outcome.ok:
        return GrantError("invalid_grant", outcome.message or accounts.SIGN_IN_REFUSED)
    account = outcome.account
    assert account is not None
    if problem := _usable(account, now):
        await audit.record(db, actor=account.username, role="anonymous",
                           action="sign_in_refused", entity_id=account.id, now=now,
                           after={"address": address, "reason": "must_change_password"})
        return GrantError("invalid_grant", problem)
    acting = unit or account.units[0]
    row, secret = await sessions.sign_in(
        db, account_id=account.id, username=account.username,
        role=console.principal(account.username, acting).role, unit=acting, kind="api",
        now=now, lifetime=timedelta(hours=settings.api_session_max_hours),
        client_address=address, user_agent=user_agent)
    token, _ = await console.access_token(row.id, account.username, acting,
                                          account.display_name, now)
    return Issued(token, int(console.token_lifetime.total_seconds()), secret)


async def refresh_grant(db: AsyncSession, console: Console, refresh_token: str) -> Issued:
    now = console.now()
    row = await sessions.by_secret(db, refresh_token)
    if row is None or row.kind != "api" or not session_rules.active(row, now, None):
        raise GrantError("invalid_grant", "会话已结束，请重新登录")
    account = await db.get(Account, row.account_id)
    if account is None or _usable(account, now) is not None:
        raise GrantError("invalid_grant", "会话已结束，请重新登录")
    row.last_seen_at = now
    db.add(row)
    token, _ = await console.access_token(row.id, account.username, row.unit,
                                          account.display_name, now)
    return Issued(token, int(console.token_lifetime.total_seconds()))


async def client_grant(db: AsyncSession, console: Console, client_id: str,
                       secret: str) -> Issued | GrantError:
    """A machine's token: no session (it asks again when the token expires); locking the
    client stops it within one token lifetime."""
    now = console.now()
    client = await accounts.authenticate_client(db, client_id, secret, now)
    if client is None:
        return GrantError("invalid_client", "客户端标识或密钥错误", 401)
    sub = f"client:{client.client_id}"
    if client.unit:
        principal = unit_principal(console.county, client.unit, sub)
    else:
        principal = Principal(sub=sub, role="platform")
    ttl = timedelta(minutes=console.settings.client_token_minutes)
    token = mint(await console.keys.signing(), principal, issuer=console.settings.jwt_issuer,
                 ttl=ttl, now=now, audience=console.settings.jwt_audience)
    return Issued(token, int(ttl.total_seconds()))


async def revoke_refresh(db: AsyncSession, console: Console, refresh_token: str) -> None:
    """RFC 7009: ends the API session of this refresh token (an unknown token is no error)."""
    row = await sessions.by_secret(db, refresh_token)
    if row is None or row.kind != "api":
        return
    account = await db.get(Account, row.account_id)
    username = account.username if account else "-"
    await sessions.sign_out(db, row, username=username, role="self", now=console.now(),
                            token_lifetime=console.revocation_lifetime)
    console.forget(row.id)
