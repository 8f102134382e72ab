"""Cookie sessions and CSRF for the pages (the interface the sign-in pages provide).

A session is a signed, HttpOnly, SameSite=Lax cookie holding who signed in and the bearer
token the console calls the domain services with. Forms carry `csrf_token()`; htmx sends it
as the X-CSRF-Token header. Pages that need a person redirect to /login?next=….
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, status

COOKIE = "fangpin_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class SignedIn:
    username: str
    display_name: str
    role: str
    unit: str | None
    township: str | None
    village: str | None
    department: str | None
    must_change_password: bool
    access_token: str
    nonce: str = ""


def _key(secret: str) -> bytes:
    return hashlib.sha256(b"fangpin-console-session:" + secret.encode()).digest()


def _sign(secret: str, payload: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(_key(secret), payload, "sha256").digest()).decode()


def encode(secret: str, person: SignedIn) -> str:
    data = asdict(person)
    data["nonce"] = data["nonce"] or secrets.token_urlsafe(16)
    payload = base64.urlsafe_b64encode(json.dumps(data).encode())
    return payload.decode() + "." + _sign(secret, payload)


def decode(secret: str, value: str | None) -> SignedIn | None:
    if not value or "." not in value:
        return None
    payload, signature = value.rsplit(".", 1)
    if not hmac.compare_digest(signature, _sign(secret, payload.encode())):
        return None
    try:
        return SignedIn(**json.loads(base64.urlsafe_b64decode(payload)))
    except (ValueError, TypeError):
        return None


def _secret(request: Request) -> str:
    return request.app.state.settings.jwt_secret


def current(request: Request) -> SignedIn | None:
    if "signed_in" not in request.scope:
        request.scope["signed_in"] = decode(_secret(request), request.cookies.get(COOKIE))
    return request.scope["signed_in"]


def csrf_token(request: Request) -> str:
    person = current(request)
    nonce = person.nonce if person else ""
    return _sign(_secret(request), b"csrf:" + nonce.encode())


async def check_csrf(request: Request) -> None:
    """Unsafe methods carry the session's CSRF token (form field or htmx header)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        sent = (await request.form()).get(CSRF_FIELD)
    if not isinstance(sent, str) or not hmac.compare_digest(sent, csrf_token(request)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="页面已过期，请刷新后重试")


async def signed_in(request: Request) -> SignedIn:
    person = current(request)
    if person is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(status.HTTP_303_SEE_OTHER, detail="请先登录",
                            headers={"Location": f"/login?next={quote(target)}"})
    await check_csrf(request)
    return person


SignedInDep = Annotated[SignedIn, Depends(signed_in)]
