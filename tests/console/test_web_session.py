"""Cookie sessions for the pages: sign-in, CSRF, the access token of the signed-in person,
sign-out (audited), and redirects for pages that need a session."""

from __future__ import annotations

import jwt
from sqlalchemy import select

from fangpin_common.tables import AUDIT_LOG

from .conftest import TOWNSHIP, add_account, csrf_of, sign_in


async def test_sign_in_page_session_and_sign_out(console):
    app = console.app
    await add_account(app, "wei.ming", [f"township.{TOWNSHIP}"], display_name="韦明")

    first = await console.get("/?tab=1")
    assert first.status_code == 303 and first.headers["location"] == "/login?next=/%3Ftab%3D1"

    form = await console.get("/login")
    assert form.status_code == 200 and "登录" in form.text
    # Without the form's CSRF token nothing is accepted, not even a sign-in.
    refused = await console.post("/login", data={"username": "wei.ming",
                                                 "password": "Fangpin-Test-2024"})
    assert refused.status_code == 403 and "刷新页面" in refused.json()["detail"]

    wrong = await sign_in(console, "wei.ming", "Wrong-Password-1")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text

    signed = await sign_in(console, "wei.ming", next_path="/?tab=1")
    assert signed.status_code == 303 and signed.headers["location"] == "/?tab=1"
    cookie = signed.headers["set-cookie"]
    assert "fangpin_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # configurable; off by default for plain-HTTP county networks

    home = await console.get("/")
    assert home.status_code == 200 and "韦明" in home.text
    # The page's access token: short-lived, the session's sid, scope from the unit.
    signed_in = await _signed_in(app, console)
    claims = jwt.decode(signed_in.access_token, options={"verify_signature": False})
    assert claims["role"] == "township" and claims["township"] == TOWNSHIP
    assert claims["sid"] == signed_in.session_id and claims["exp"] - claims["iat"] == 15 * 60
    assert (await app.state.verifier.principal(signed_in.access_token)).sub == "wei.ming"

    # Sign-out needs the session's CSRF token too.
    assert (await console.post("/logout")).status_code == 403
    out = await console.post("/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert (await console.get("/")).status_code == 303
    # The token minted for the ended session is refused by the console at once.
    from fangpin_common.tokens import InvalidToken

    try:
        await app.state.verifier.principal(signed_in.access_token)
        raise AssertionError("token of a signed-out session accepted")
    except InvalidToken:
        pass

    async with app.state.db.session() as session:
        actions = [r.action for r in await session.execute(
            select(AUDIT_LOG.c.action).where(AUDIT_LOG.c.actor == "wei.ming")
            .order_by(AUDIT_LOG.c.id))]
    assert actions == ["sign_in_failed", "sign_in", "sign_out"]


async def test_next_is_a_path_of_this_site(console):
    await add_account(console.app, "li.hua", ["county.rural_revitalisation"])
    signed = await sign_in(console, "li.hua", next_path="//evil.example/")
    assert signed.headers["location"] == "/"


async def test_htmx_request_without_session_gets_redirect_header(console):
    answer = await console.get("/", headers={"HX-Request": "true"})
    assert answer.status_code == 401 and answer.headers["HX-Redirect"] == "/login?next=/"


async def _signed_in(app, client):
    """The SignedIn the pages get, through the same dependency."""
    from fastapi import Request

    from fangpin_console.web.session import load

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [
        (b"cookie", "; ".join(f"{k}={v}" for k, v in client.cookies.items()).encode())],
        "query_string": b"", "app": app}
    return await load(Request(scope))
