"""Cookie sessions for the pages: who is signed in (`SignedInDep`), CSRF protection, and the
short-lived access token the pages send as Bearer to the domain services.

The cookie holds a random secret (HttpOnly, SameSite=Lax, Secure when configured); the
database keeps only its hash. Every unsafe request must carry the session's CSRF token (a form
field `csrf_token`, or the header `X-CSRF-Token` for htmx); the sign-in form, which has no
session yet, uses a double-submit cookie.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from fangpin_console.accounts import rules
from fangpin_console.accounts.models import Account
from fangpin_console.runtime import Console
from fangpin_console.sessions import rules as session_rules
from fangpin_console.sessions import service as sessions
from fangpin_console.sessions.models import Session

# The sessions table lives with the other session code; re-exported for the pages.
__all__ = ["Session", "SignedIn", "SignedInDep", "SignedInAnyDep", "CsrfProtect",
           "csrf_protect", "csrf_token_of", "set_session_cookie", "clear_session_cookie",
           "safe_next", "install"]

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_CSRF_COOKIE = "fangpin_csrf"


@dataclass(frozen=True)
class SignedIn:
    account_id: str
    username: str
    display_name: str
    role: str
    unit: str
    township: str | None
    village: str | None
    department: str | None
    must_change_password: bool
    access_token: str  # Bearer for the domain services; short-lived, re-minted as needed
    session_id: str
    csrf_token: str
    is_admin: bool = False

    @property
    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class PasswordChangeRequired(Exception):
    pass


def safe_next(value: str | None, default: str = "/") -> str:
    """Only a path of this site (no scheme, no host, no `//`): no open redirect."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def load(request: Request) -> SignedIn | None:
    """The request's signed-in person, or None; once per request."""
    if hasattr(request.state, "signed_in"):
        return request.state.signed_in
    request.state.signed_in = None
    console = Console.from_request(request)
    secret = request.cookies.get(console.settings.session_cookie_name)
    if not secret:
        return None
    now = console.now()
    async with console.db.session() as db:
        found = (await db.execute(
            select(Session, Account).join(Account, Account.id == Session.account_id)
            .where(Session.secret_hash == sessions.secret_hash(secret)))).first()
    if found is None:
        return None
    row, account = found
    idle = timedelta(minutes=console.settings.session_idle_minutes)
    if row.kind != "web" or not session_rules.active(row, now, idle):
        return None
    if account.disabled or rules.locked(account.locked_until, now):
        async with console.db.unit_of_work() as db:
            fresh = await db.get(Session, row.id)
            if fresh is not None:
                await sessions.revoke(db, fresh, "account_locked", now,
                                      console.revocation_lifetime)
        console.forget(row.id)
        return None
    if session_rules.worth_touching(row.last_seen_at, now):
        async with console.db.unit_of_work() as db:
            fresh = await db.get(Session, row.id)
            if fresh is not None:
                fresh.last_seen_at = now
                db.add(fresh)
    try:
        principal = console.principal(account.username, row.unit)
    except ValueError:
        return None  # the unit left the county file: no scope, no session
    token, _ = await console.access_token(row.id, account.username, row.unit,
                                          account.display_name, now)
    request.state.signed_in = SignedIn(
        account_id=account.id, username=account.username, display_name=account.display_name,
        role=principal.role, unit=row.unit, township=principal.township,
        village=principal.village, department=principal.department,
        must_change_password=account.must_change_password, access_token=token,
        session_id=row.id, csrf_token=row.csrf_token, is_admin=account.is_admin)
    return request.state.signed_in


def _next_of(request: Request) -> str:
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


async def signed_in_any(request: Request) -> SignedIn:
    """Signed in, even if a password change is pending (the password page itself)."""
    signed = await load(request)
    if signed is None:
        raise SignInRequired(_next_of(request) if request.method == "GET" else "/")
    return signed


async def signed_in(request: Request) -> SignedIn:
    """Signed in with no pending password change: every page but /password uses this."""
    signed = await signed_in_any(request)
    if signed.must_change_password:
        raise PasswordChangeRequired()
    return signed


SignedInDep = Annotated[SignedIn, Depends(signed_in)]
SignedInAnyDep = Annotated[SignedIn, Depends(signed_in_any)]


def csrf_token_of(request: Request) -> str:
    """The CSRF token a form on this page must send back."""
    signed = getattr(request.state, "signed_in", None)
    if signed is not None:
        return signed.csrf_token
    token = getattr(request.state, "form_csrf", None) or request.cookies.get(FORM_CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
    request.state.form_csrf = token  # set as a cookie by the response (see install)
    return token


async def csrf_protect(request: Request) -> None:
    """On POST, PUT, PATCH, DELETE: the session's token (or the sign-in form's double-submit
    cookie) must come back in the form field `csrf_token` or the header `X-CSRF-Token`."""
    if request.method not in UNSAFE:
        return
    sent = request.headers.get("x-csrf-token")
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get("csrf_token")
    signed = await load(request)
    expected = signed.csrf_token if signed else request.cookies.get(FORM_CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
        raise HTTPException(403, detail="页面已过期或来源不明，请刷新页面后重试")


CsrfProtect = Depends(csrf_protect)


def set_session_cookie(response: Response, console: Console, secret: str) -> None:
    response.set_cookie(console.settings.session_cookie_name, secret, httponly=True,
                        samesite="lax", secure=console.settings.session_cookie_secure,
                        max_age=console.settings.session_max_hours * 3600, path="/")


def clear_session_cookie(response: Response, console: Console) -> None:
    response.delete_cookie(console.settings.session_cookie_name, path="/", httponly=True,
                           samesite="lax", secure=console.settings.session_cookie_secure)


def install(app: FastAPI) -> None:
    """Redirects for pages that need a signed-in person, and the sign-in form's CSRF cookie."""

    @app.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, exc: SignInRequired) -> Response:
        target = f"/login?next={quote(safe_next(exc.next_path), safe='/')}"
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def password_change_required(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=403, headers={"HX-Redirect": "/password"})
        return RedirectResponse("/password", status_code=303)

    @app.middleware("http")
    async def form_csrf_cookie(request: Request, call_next):
        response = await call_next(request)
        token = getattr(request.state, "form_csrf", None)
        if token and request.cookies.get(FORM_CSRF_COOKIE) != token:
            console = Console.from_request(request)
            response.set_cookie(FORM_CSRF_COOKIE, token, httponly=True, samesite="lax",
                                secure=console.settings.session_cookie_secure, path="/")
        return response
