"""Accounts: creation, sign-in with lock-out, password changes and resets, locks, clients.

Functions take the unit of work's session and never commit. A refused sign-in still writes
(the failure count, the lock, the audit entry): it returns its outcome instead of raising, so
the caller's unit of work commits those writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fangpin_common.county import County
from fangpin_common.errors import Conflict, DomainError, NotFound
from fangpin_console.accounts import audit, passwords, rules
from fangpin_console.accounts.models import Account, ApiClient
from fangpin_console.sessions import service as sessions

SIGN_IN_REFUSED = "用户名或密码错误"


@dataclass(frozen=True)
class Outcome:
    account: Account | None
    message: str | None = None  # why it was refused, for the person signing in
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.account is not None and self.message is None


async def by_username(session: AsyncSession, username: str) -> Account | None:
    return (await session.execute(
        select(Account).where(Account.username == username))).scalar_one_or_none()


async def get(session: AsyncSession, account_id: str) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("没有这个账号")
    return account


def _check_password(password: str, policy: rules.PasswordPolicy, username: str,
                    field: str = "password", current: str | None = None) -> None:
    problems = rules.password_problems(password, policy, username, current)
    if problems:
        raise DomainError(field, "；".join(problems), code="password_policy")


async def create(session: AsyncSession, *, username: str, display_name: str, units: list[str],
                 password: str, county: County, policy: rules.PasswordPolicy, now: datetime,
                 actor: str, actor_role: str, is_admin: bool = False,
                 must_change_password: bool = True) -> Account:
    if not rules.USERNAME.match(username):
        raise DomainError("username", "用户名为 2–64 位字母、数字或 . _ @ -")
    problems = rules.units_problems(units, county)
    if problems:
        raise DomainError("units", "；".join(problems))
    _check_password(password, policy, username)
    if await by_username(session, username) is not None:
        raise Conflict(f"用户名 {username} 已被使用")
    account = Account(username=username, display_name=display_name, units=list(units),
                      is_admin=is_admin, password_hash=await passwords.hash_password(password),
                      must_change_password=must_change_password, created_at=now)
    session.add(account)
    await session.flush()
    await audit.record(session, actor=actor, role=actor_role, action="account_created",
                       entity_id=account.id, now=now, after=public(account))
    return account


def public(account: Account) -> dict:
    """An account as the audit log and the API show it (never the hash)."""
    return {"id": account.id, "username": account.username, "display_name": account.display_name,
            "units": list(account.units), "is_admin": account.is_admin,
            "disabled": account.disabled, "must_change_password": account.must_change_password,
            "locked_until": account.locked_until.isoformat() if account.locked_until else None}


async def sign_in(session: AsyncSession, *, username: str, password: str, now: datetime,
                  max_failures: int, lockout: timedelta, unit: str | None = None,
                  client_address: str | None = None) -> Outcome:
    """Check a person's password. The `max_failures`-th wrong password in a row locks the
    account for `lockout`; a locked account is refused without looking at the password."""
    account = await by_username(session, username)
    where = {"address": client_address}
    if account is None:
        await passwords.verify(password, None)
        await audit.record(session, actor=username or "-", role="anonymous",
                           action="sign_in_failed", entity_id=username or "-", now=now,
                           after=where | {"reason": "unknown_user"})
        return Outcome(None, SIGN_IN_REFUSED, 401)
    if account.disabled:
        await audit.record(session, actor=username, role="anonymous", action="sign_in_refused",
                           entity_id=account.id, now=now, after=where | {"reason": "disabled"})
        return Outcome(None, "账号已停用，请联系管理员", 403)
    if rules.locked(account.locked_until, now):
        await audit.record(session, actor=username, role="anonymous", action="sign_in_refused",
                           entity_id=account.id, now=now, after=where | {"reason": "locked"})
        minutes = rules.minutes_left(account.locked_until, now)  # type: ignore[arg-type]
        return Outcome(None, f"密码错误次数过多，账号已锁定，请 {minutes} 分钟后再试", 423)
    matches, rehashed = await passwords.verify(password, account.password_hash)
    if not matches:
        account.failed_attempts, account.locked_until = rules.after_failure(
            account.failed_attempts, max_failures, lockout, now)
        session.add(account)
        await audit.record(session, actor=username, role="anonymous", action="sign_in_failed",
                           entity_id=account.id, now=now, after=where | {"reason": "password"})
        if account.locked_until is not None:
            await audit.record(session, actor="system", role="system", action="account_locked",
                               entity_id=account.id, now=now,
                               after={"locked_until": account.locked_until.isoformat(),
                                      "failures": max_failures})
            return Outcome(None, f"密码连续错误 {max_failures} 次，账号已锁定 "
                                 f"{int(lockout.total_seconds() // 60)} 分钟", 423)
        return Outcome(None, SIGN_IN_REFUSED, 401)
    acting = unit or account.units[0]
    if acting not in account.units:
        return Outcome(None, "所选单位不属于该账号", 403)
    account.failed_attempts = 0
    account.locked_until = None
    account.last_sign_in_at = now
    if rehashed:
        account.password_hash = rehashed
    session.add(account)
    return Outcome(account)


async def change_password(session: AsyncSession, account: Account, *, current: str, new: str,
                          policy: rules.PasswordPolicy, now: datetime, keep_session: str | None,
                          token_lifetime: timedelta) -> None:
    """The person's own change (forced after a reset): the other sessions end."""
    matches, _ = await passwords.verify(current, account.password_hash)
    if not matches:
        raise DomainError("current_password", "当前密码不正确")
    _check_password(new, policy, account.username, "new_password", current)
    account.password_hash = await passwords.hash_password(new)
    account.must_change_password = False
    account.password_changed_at = now
    session.add(account)
    await sessions.revoke_all(session, account.id, "password_changed", now, token_lifetime,
                              keep=keep_session)
    await audit.record(session, actor=account.username, role="self", action="password_changed",
                       entity_id=account.id, now=now)


async def reset_password(session: AsyncSession, account: Account, *, new: str,
                         policy: rules.PasswordPolicy, now: datetime, actor: str,
                         actor_role: str, token_lifetime: timedelta) -> None:
    """An administrator's reset: the person must change it at the next sign-in, every
    session of theirs ends, and a lock from failed sign-ins is lifted."""
    _check_password(new, policy, account.username)
    account.password_hash = await passwords.hash_password(new)
    account.must_change_password = True
    account.failed_attempts = 0
    account.locked_until = None
    session.add(account)
    await sessions.revoke_all(session, account.id, "password_reset", now, token_lifetime)
    await audit.record(session, actor=actor, role=actor_role, action="password_reset",
                       entity_id=account.id, now=now)


async def set_disabled(session: AsyncSession, account: Account, disabled: bool, *,
                       now: datetime, actor: str, actor_role: str,
                       token_lifetime: timedelta) -> None:
    """Lock (or unlock) an account by hand; locking ends its sessions at once."""
    before = public(account)
    account.disabled = disabled
    if not disabled:
        account.failed_attempts = 0
        account.locked_until = None
    session.add(account)
    if disabled:
        await sessions.revoke_all(session, account.id, "account_locked", now, token_lifetime)
    await audit.record(session, actor=actor, role=actor_role,
                       action="account_disabled" if disabled else "account_enabled",
                       entity_id=account.id, now=now, before=before, after=public(account))


# -- API clients ---------------------------------------------------------------------------
async def create_client(session: AsyncSession, *, client_id: str, name: str, secret: str,
                        unit: str | None, county: County, now: datetime, actor: str,
                        actor_role: str) -> ApiClient:
    """A machine caller: the provincial platform (no unit), or a department's system (its
    department unit gives role and scope)."""
    from fangpin_common.tokens import unit_principal

    if not rules.USERNAME.match(client_id):
        raise DomainError("client_id", "客户端标识为 2–64 位字母、数字或 . _ @ -")
    if len(secret) < 32:
        raise DomainError("secret", "客户端密钥至少 32 位")
    role = "platform"
    if unit is not None:
        try:
            role = unit_principal(county, unit, client_id).role
        except ValueError:
            raise DomainError("unit", f"单位 {unit} 不在县级单位目录中或无法确定权限范围") from None
    exists = (await session.execute(select(ApiClient).where(ApiClient.client_id == client_id))
              ).scalar_one_or_none()
    if exists is not None:
        raise Conflict(f"客户端 {client_id} 已存在")
    client = ApiClient(client_id=client_id, name=name, role=role, unit=unit,
                       secret_hash=await passwords.hash_password(secret), created_at=now)
    session.add(client)
    await session.flush()
    await audit.record(session, actor=actor, role=actor_role, action="client_created",
                       entity_type="api_client", entity_id=client.id, now=now,
                       after={"client_id": client_id, "name": name, "role": role, "unit": unit})
    return client


async def authenticate_client(session: AsyncSession, client_id: str, secret: str,
                              now: datetime) -> ApiClient | None:
    client = (await session.execute(select(ApiClient).where(ApiClient.client_id == client_id))
              ).scalar_one_or_none()
    matches, _ = await passwords.verify(secret, client.secret_hash if client else None)
    ok = client is not None and matches and not client.disabled
    await audit.record(session, actor=f"client:{client_id}"[:100], role="client",
                       action="client_sign_in" if ok else "client_sign_in_failed",
                       entity_type="api_client", entity_id=client.id if client else client_id,
                       now=now)
    if not ok:
        return None
    client.last_used_at = now
    session.add(client)
    return client
