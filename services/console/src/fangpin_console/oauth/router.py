"""OAuth 2.0 shapes: the token endpoint (password, refresh_token, client_credentials), token
revocation (RFC 7009), the JWKS and an OpenID-style discovery document."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse

from fangpin_console.deps import ConsoleDep
from fangpin_console.oauth import service
from fangpin_console.oauth.service import GrantError, Issued

router = APIRouter(tags=["oauth"])
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _error(exc: GrantError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="fangpin"'
    return JSONResponse({"error": exc.error, "error_description": exc.description},
                        status_code=exc.status, headers=headers)


def _basic(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password


@router.post("/oauth/token")
async def token(
    request: Request, console: ConsoleDep,
    grant_type: Annotated[str, Form(max_length=40)],
    username: Annotated[str | None, Form(max_length=64)] = None,
    password: Annotated[str | None, Form(max_length=256)] = None,
    refresh_token: Annotated[str | None, Form(max_length=128)] = None,
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    client_secret: Annotated[str | None, Form(max_length=256)] = None,
    unit: Annotated[str | None, Form(max_length=64)] = None,
    scope: Annotated[str | None, Form(max_length=200)] = None,  # noqa: ARG001 (scope is the unit's)
) -> JSONResponse:
    address = request.client.host if request.client else None
    now = console.now()
    if grant_type in ("password", "client_credentials") and not console.throttle.allow(
            address or "-", now.timestamp()):
        return _error(GrantError("slow_down", "尝试过于频繁，请稍后再试", 429))
    result: Issued | GrantError
    async with console.db.unit_of_work() as db:
        try:
            if grant_type == "password":
                if not username or password is None:
                    raise GrantError("invalid_request", "缺少用户名或密码")
                result = await service.password_grant(
                    db, console, username=username, password=password, unit=unit,
                    address=address, user_agent=request.headers.get("user-agent"))
            elif grant_type == "refresh_token":
                if not refresh_token:
                    raise GrantError("invalid_request", "缺少 refresh_token")
                result = await service.refresh_grant(db, console, refresh_token)
            elif grant_type == "client_credentials":
                basic = _basic(request)
                cid, secret = basic if basic else (client_id, client_secret)
                if not cid or not secret:
                    raise GrantError("invalid_client", "缺少客户端标识或密钥", 401)
                result = await service.client_grant(db, console, cid, secret)
            else:
                raise GrantError("unsupported_grant_type", "不支持的授权方式")
        except GrantError as exc:
            result = exc
    if isinstance(result, GrantError):
        return _error(result)
    body = {"access_token": result.access_token, "token_type": "Bearer",
            "expires_in": result.expires_in}
    if result.refresh_token:
        body["refresh_token"] = result.refresh_token
    return JSONResponse(body, headers=NO_STORE)


@router.post("/oauth/revoke")
async def revoke(console: ConsoleDep, token: Annotated[str, Form(max_length=128)]) -> JSONResponse:
    async with console.db.unit_of_work() as db:
        await service.revoke_refresh(db, console, token)
    return JSONResponse({}, headers=NO_STORE)


@router.get("/.well-known/jwks.json")
async def jwks(console: ConsoleDep) -> JSONResponse:
    # Short public caching: a rotation is seen within a minute even through a proxy, and the
    # services refetch at once on an unknown kid anyway.
    return JSONResponse(await console.keys.jwks(), headers={"Cache-Control": "public, max-age=60"})


@router.get("/.well-known/openid-configuration")
async def discovery(request: Request, console: ConsoleDep) -> dict:
    base = (console.settings.public_url or str(request.base_url)).rstrip("/")
    return {"issuer": console.settings.jwt_issuer, "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/oauth/token",
            "revocation_endpoint": f"{base}/oauth/revoke",
            "grant_types_supported": ["password", "refresh_token", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post"],
            "id_token_signing_alg_values_supported": ["EdDSA"]}
