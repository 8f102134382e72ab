"""Administrators manage accounts, their sessions and API clients (Bearer, admin accounts)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from sqlalchemy import select

from fangpin_common.deps import SessionDep
from fangpin_common.errors import NotFound
from fangpin_console.accounts import passwords
from fangpin_console.accounts import service as accounts
from fangpin_console.accounts.models import (
    Account,
    AccountCreate,
    AccountCreated,
    AccountRead,
    ApiClient,
    ClientCreate,
    ClientCreated,
    ClientRead,
    PasswordReset,
)
from fangpin_console.deps import AdminDep, ConsoleDep
from fangpin_console.sessions import service as sessions
from fangpin_console.sessions.models import Session, SessionRead

router = APIRouter(prefix="/api/v1", tags=["accounts"])


@router.get("/accounts", response_model=list[AccountRead])
async def list_accounts(session: SessionDep, _: AdminDep) -> list[Account]:
    return list((await session.execute(select(Account).order_by(Account.username))).scalars())


@router.post("/accounts", response_model=AccountCreated, status_code=201)
async def create_account(body: AccountCreate, session: SessionDep, admin: AdminDep,
                         console: ConsoleDep) -> dict:
    password = passwords.one_time_password()
    account = await accounts.create(
        session, username=body.username, display_name=body.display_name, units=body.units,
        password=password, county=console.county, policy=console.policy, now=console.now(),
        actor=admin.username, actor_role="admin", is_admin=body.is_admin)
    return AccountRead.model_validate(account).model_dump() | {"one_time_password": password}


@router.post("/accounts/{account_id}/password-reset", response_model=PasswordReset)
async def reset_password(account_id: str, session: SessionDep, admin: AdminDep,
                         console: ConsoleDep) -> PasswordReset:
    account = await accounts.get(session, account_id)
    password = passwords.one_time_password()
    await accounts.reset_password(session, account, new=password, policy=console.policy,
                                  now=console.now(), actor=admin.username, actor_role="admin",
                                  token_lifetime=console.revocation_lifetime)
    return PasswordReset(account_id=account.id, one_time_password=password)


@router.post("/accounts/{account_id}/lock", response_model=AccountRead)
async def lock(account_id: str, session: SessionDep, admin: AdminDep,
               console: ConsoleDep) -> Account:
    account = await accounts.get(session, account_id)
    await accounts.set_disabled(session, account, True, now=console.now(), actor=admin.username,
                                actor_role="admin", token_lifetime=console.revocation_lifetime)
    return account


@router.post("/accounts/{account_id}/unlock", response_model=AccountRead)
async def unlock(account_id: str, session: SessionDep, admin: AdminDep,
                 console: ConsoleDep) -> Account:
    account = await accounts.get(session, account_id)
    await accounts.set_disabled(session, account, False, now=console.now(),
                                actor=admin.username, actor_role="admin",
                                token_lifetime=console.revocation_lifetime)
    return account


@router.get("/accounts/{account_id}/sessions", response_model=list[SessionRead])
async def account_sessions(account_id: str, session: SessionDep, _: AdminDep) -> list[Session]:
    await accounts.get(session, account_id)
    return list((await session.execute(select(Session).where(Session.account_id == account_id)
                                       .order_by(Session.created_at.desc()))).scalars())


@router.post("/sessions/{session_id}/revoke", response_model=SessionRead)
async def revoke_session(session_id: str, session: SessionDep, admin: AdminDep,
                         console: ConsoleDep) -> Session:
    from fangpin_console.accounts import audit

    row = await session.get(Session, session_id)
    if row is None:
        raise NotFound("没有这个会话")
    now = console.now()
    if await sessions.revoke(session, row, "revoked", now, console.revocation_lifetime):
        await audit.record(session, actor=admin.username, role="admin", action="session_revoked",
                           entity_id=row.account_id, now=now, after={"session": row.id})
    console.forget(row.id)
    return row


@router.get("/clients", response_model=list[ClientRead])
async def list_clients(session: SessionDep, _: AdminDep) -> list[ApiClient]:
    return list((await session.execute(select(ApiClient).order_by(ApiClient.client_id))
                 ).scalars())


@router.post("/clients", response_model=ClientCreated, status_code=201)
async def create_client(body: ClientCreate, session: SessionDep, admin: AdminDep,
                        console: ConsoleDep) -> dict:
    secret = secrets.token_urlsafe(32)
    client = await accounts.create_client(
        session, client_id=body.client_id, name=body.name, secret=secret, unit=body.unit,
        county=console.county, now=console.now(), actor=admin.username, actor_role="admin")
    return ClientRead.model_validate(client).model_dump() | {"client_secret": secret}
