"""Sign-in, sign-out and password pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fangpin_common.errors import DomainError
from fangpin_console.accounts import service as accounts
from fangpin_console.runtime import Console
from fangpin_console.sessions import service as sessions
from fangpin_console.sessions.models import Session
from fangpin_console.web.session import (
    CsrfProtect,
    SignedInAnyDep,
    clear_session_cookie,
    load,
    safe_next,
    set_session_cookie,
)
from fangpin_console.web.templating import templates

router = APIRouter(tags=["pages"], dependencies=[CsrfProtect], include_in_schema=False)


def _login_page(request: Request, next_path: str, error: str | None = None,
                username: str = "", status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "auth/login.html", {
        "next": next_path, "error": error, "username": username}, status_code=status)


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    if await load(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)],
                next: Annotated[str | None, Form()] = None,
                unit: Annotated[str | None, Form(max_length=64)] = None) -> Response:
    """`unit`: which of the person's units this session acts for (the first by default)."""
    console = Console.from_request(request)
    target = safe_next(next)
    address = request.client.host if request.client else None
    now = console.now()
    if not console.throttle.allow(address or "-", now.timestamp()):
        return _login_page(request, target, "尝试过于频繁，请稍后再试", username, 429)
    settings = console.settings
    async with console.db.unit_of_work() as db:
        outcome = await accounts.sign_in(
            db, username=username.strip(), password=password, now=now,
            max_failures=settings.sign_in_max_failures,
            lockout=timedelta(minutes=settings.lockout_minutes), client_address=address,
            unit=unit or None)
        if outcome.ok:
            account = outcome.account
            assert account is not None
            unit = unit or account.units[0]
            row, secret = await sessions.sign_in(
                db, account_id=account.id, username=account.username,
                role=console.principal(account.username, unit).role, unit=unit, kind="web",
                now=now, lifetime=timedelta(hours=settings.session_max_hours),
                client_address=address, user_agent=request.headers.get("user-agent"))
    if not outcome.ok:
        return _login_page(request, target, outcome.message, username, outcome.status)
    response = RedirectResponse("/password" if account.must_change_password else target,
                                status_code=303)
    set_session_cookie(response, console, secret)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    console = Console.from_request(request)
    signed = await load(request)
    if signed is not None:
        async with console.db.unit_of_work() as db:
            row = await db.get(Session, signed.session_id)
            if row is not None:
                await sessions.sign_out(db, row, username=signed.username, role=signed.role,
                                        now=console.now(),
                                        token_lifetime=console.revocation_lifetime)
        console.forget(signed.session_id)
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response, console)
    return response


def _password_page(request: Request, signed, error: str | None = None,
                   status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(request, "auth/password.html", {
        "signed_in": signed, "error": error, "forced": signed.must_change_password},
        status_code=status)


@router.get("/password", response_class=HTMLResponse)
async def password_form(request: Request, signed: SignedInAnyDep) -> Response:
    return _password_page(request, signed)


@router.post("/password", response_class=HTMLResponse)
async def change_password(request: Request, signed: SignedInAnyDep,
                          current_password: Annotated[str, Form(max_length=256)],
                          new_password: Annotated[str, Form(max_length=256)],
                          confirm_password: Annotated[str, Form(max_length=256)]) -> Response:
    console = Console.from_request(request)
    if new_password != confirm_password:
        return _password_page(request, signed, "两次输入的新密码不一致", 422)
    try:
        async with console.db.unit_of_work() as db:
            account = await accounts.get(db, signed.account_id)
            await accounts.change_password(
                db, account, current=current_password, new=new_password,
                policy=console.policy, now=console.now(), keep_session=signed.session_id,
                token_lifetime=console.revocation_lifetime)
    except DomainError as exc:
        return _password_page(request, signed, exc.message, 422)
    return RedirectResponse(console.settings.home_path, status_code=303)
