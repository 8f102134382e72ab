"""Accounts over HTTP on both databases: lock-out, throttling, forced change after an
administrator's reset, the token endpoint's grants, administrators' locks and revocations."""

from __future__ import annotations

import jwt
from sqlalchemy import select

from fangpin_common.tables import AUDIT_LOG
from fangpin_common.testing import auth

from .conftest import PASSWORD, TOWNSHIP, add_account, csrf_of, sign_in

LEAD = "county.rural_revitalisation"


async def password_grant(client, username: str, password: str = PASSWORD, **extra):
    return await client.post("/oauth/token", data={"grant_type": "password", "username": username,
                                                   "password": password} | extra)


async def admin_bearer(client) -> dict[str, str]:
    await add_account(client.app, "admin", [LEAD], admin=True)
    answer = await password_grant(client, "admin")
    assert answer.status_code == 200, answer.text
    return auth(answer.json()["access_token"])


async def audit_actions(app, entity_id: str) -> list[str]:
    async with app.state.db.session() as session:
        return [r.action for r in await session.execute(
            select(AUDIT_LOG.c.action).where(AUDIT_LOG.c.entity_id == entity_id)
            .order_by(AUDIT_LOG.c.id))]


async def test_lock_out_after_five_wrong_passwords(console):
    account = await add_account(console.app, "huang.li", [f"township.{TOWNSHIP}"])
    for attempt in range(1, 5):
        wrong = await sign_in(console, "huang.li", f"Wrong-Password-{attempt}")
        assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    fifth = await sign_in(console, "huang.li", "Wrong-Password-5")
    assert fifth.status_code == 423 and "已锁定 15 分钟" in fifth.text
    # Locked: even the right password is refused, on the page and at the token endpoint.
    right = await sign_in(console, "huang.li")
    assert right.status_code == 423 and "分钟后再试" in right.text
    grant = await password_grant(console, "huang.li")
    assert grant.status_code == 400 and grant.json()["error"] == "invalid_grant"
    assert "锁定" in grant.json()["error_description"]
    assert (await audit_actions(console.app, account.id)) == [
        "account_created", *["sign_in_failed"] * 5, "account_locked", "sign_in_refused",
        "sign_in_refused"]


async def test_unknown_user_and_wrong_password_read_the_same(console):
    await add_account(console.app, "wei.ming", [f"township.{TOWNSHIP}"])
    unknown = await password_grant(console, "nobody", "Wrong-Password-1")
    wrong = await password_grant(console, "wei.ming", "Wrong-Password-1")
    assert unknown.json() == wrong.json() == {"error": "invalid_grant",
                                              "error_description": "用户名或密码错误"}


async def test_one_address_is_throttled(database, nats_server):
    from fangpin_common.testing import running
    from fangpin_console.main import create_app

    from .conftest import console_settings

    app = create_app(console_settings(database, nats_server.url, sign_in_per_minute=3))
    async with running(app) as client:
        codes = [(await password_grant(client, "nobody", "Wrong-Password-1")).status_code
                 for _ in range(4)]
    assert codes == [400, 400, 400, 429]


async def test_reset_by_an_administrator_forces_a_change(console):
    admin = await admin_bearer(console)
    person = await add_account(console.app, "wei.ming", [f"township.{TOWNSHIP}"])
    assert (await sign_in(console, "wei.ming")).status_code == 303
    old_session = dict(console.cookies)
    console.cookies.clear()

    reset = await console.post(f"/api/v1/accounts/{person.id}/password-reset", headers=admin)
    assert reset.status_code == 200
    one_time = reset.json()["one_time_password"]
    # The reset ended the person's sessions.
    console.cookies.update(old_session)
    assert (await console.get("/")).status_code == 303
    console.cookies.clear()

    # With the one-time password only the password page opens; no API token either.
    signed = await sign_in(console, "wei.ming", one_time, next_path="/")
    assert signed.headers["location"] == "/password"
    assert (await console.get("/")).headers["location"] == "/password"
    grant = await password_grant(console, "wei.ming", one_time)
    assert grant.status_code == 400 and "修改密码" in grant.json()["error_description"]

    page = await console.get("/password")
    assert "管理员已重置您的密码" in page.text
    csrf = csrf_of(page.text)
    weak = await console.post("/password", data={
        "csrf_token": csrf, "current_password": one_time, "new_password": "wei.ming1234",
        "confirm_password": "wei.ming1234"})
    assert weak.status_code == 422 and "不能包含用户名" in weak.text
    changed = await console.post("/password", data={
        "csrf_token": csrf, "current_password": one_time, "new_password": "Banlan-Village-88",
        "confirm_password": "Banlan-Village-88"})
    assert changed.status_code == 303
    assert (await console.get("/")).status_code == 200  # same session, change done
    assert (await password_grant(console, "wei.ming", "Banlan-Village-88")).status_code == 200
    actions = await audit_actions(console.app, person.id)
    assert actions[actions.index("password_reset"):] == [
        "password_reset", "sign_in", "sign_in_refused", "password_changed", "sign_in"]


async def test_password_grant_refresh_and_revoke(console):
    await add_account(console.app, "wei.ming", [f"township.{TOWNSHIP}"])
    grant = (await password_grant(console, "wei.ming")).json()
    assert grant["token_type"] == "Bearer" and grant["expires_in"] == 900
    claims = jwt.decode(grant["access_token"], options={"verify_signature": False})
    assert claims["role"] == "township" and claims["sid"]
    header = jwt.get_unverified_header(grant["access_token"])
    assert header["alg"] == "EdDSA" and header["kid"]

    refreshed = await console.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]})
    assert refreshed.status_code == 200
    assert jwt.decode(refreshed.json()["access_token"],
                      options={"verify_signature": False})["sid"] == claims["sid"]

    assert (await console.post("/oauth/revoke", data={"token": grant["refresh_token"]})
            ).status_code == 200
    again = await console.post("/oauth/token", data={
        "grant_type": "refresh_token", "refresh_token": grant["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


async def test_client_credentials_grant(console):
    admin = await admin_bearer(console)
    created = await console.post("/api/v1/clients", headers=admin, json={
        "client_id": "civil-affairs", "name": "县民政局数据比对", "unit": "county.civil_affairs"})
    assert created.status_code == 201, created.text
    secret = created.json()["client_secret"]
    platform = await console.post("/api/v1/clients", headers=admin, json={
        "client_id": "gx-platform", "name": "广西防返贫监测信息平台"})
    assert platform.json()["role"] == "platform"

    # Client authentication by HTTP Basic (RFC 6749 §2.3.1) or in the form.
    answer = await console.post("/oauth/token", data={"grant_type": "client_credentials"},
                                auth=("civil-affairs", secret))
    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    claims = jwt.decode(answer.json()["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["role"], claims["department"]) == (
        "client:civil-affairs", "department", "county.civil_affairs")
    form = await console.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": "gx-platform",
        "client_secret": platform.json()["client_secret"]})
    assert jwt.decode(form.json()["access_token"],
                      options={"verify_signature": False})["role"] == "platform"

    wrong = await console.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=("civil-affairs", "x" * 43))
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # A client is never an administrator.
    client_token = auth(answer.json()["access_token"])
    assert (await console.get("/api/v1/accounts", headers=client_token)).status_code == 403


async def test_administrator_lock_and_session_revocation(console):
    admin = await admin_bearer(console)
    person = await add_account(console.app, "wei.ming", [f"township.{TOWNSHIP}"])
    # Only administrators manage accounts.
    own = auth((await password_grant(console, "wei.ming")).json()["access_token"])
    assert (await console.get("/api/v1/accounts", headers=own)).status_code == 403

    assert (await sign_in(console, "wei.ming")).status_code == 303
    sessions = (await console.get(f"/api/v1/accounts/{person.id}/sessions", headers=admin)).json()
    assert {s["kind"] for s in sessions} == {"web", "api"}
    web = next(s for s in sessions if s["kind"] == "web")
    revoked = await console.post(f"/api/v1/sessions/{web['id']}/revoke", headers=admin)
    assert revoked.json()["revoked_reason"] == "revoked"
    assert (await console.get("/")).status_code == 303

    locked = await console.post(f"/api/v1/accounts/{person.id}/lock", headers=admin)
    assert locked.json()["disabled"] is True
    # Locking ended the API session too: its token is refused at once.
    assert (await console.get("/api/v1/accounts", headers=own)).status_code == 401
    refused = await sign_in(console, "wei.ming")
    assert refused.status_code == 403 and "已停用" in refused.text
    await console.post(f"/api/v1/accounts/{person.id}/unlock", headers=admin)
    assert (await sign_in(console, "wei.ming")).status_code == 303


async def test_accounts_get_units_of_the_directory(console):
    admin = await admin_bearer(console)
    created = await console.post("/api/v1/accounts", headers=admin, json={
        "username": "lan.fang", "display_name": "蓝芳", "units": ["county.education"]})
    assert created.status_code == 201 and created.json()["must_change_password"] is True
    assert len(created.json()["one_time_password"]) >= 10
    unknown = await console.post("/api/v1/accounts", headers=admin, json={
        "username": "x.y", "display_name": "某", "units": ["county.nowhere"]})
    assert unknown.status_code == 422 and "不在县级单位目录中" in unknown.text
    two = await console.post("/api/v1/accounts", headers=admin, json={
        "username": "x.z", "display_name": "某", "units": [f"township.{TOWNSHIP}",
                                                           "county.education"]})
    assert two.status_code == 422 and "不允许一人兼任" in two.text
    listed = (await console.get("/api/v1/accounts", headers=admin)).json()
    assert [a["username"] for a in listed] == ["admin", "lan.fang"]
    assert all("password_hash" not in a for a in listed)


async def test_two_units_where_the_county_allows_it(database, nats_server, tmp_path):
    from fangpin_common.testing import COUNTY_CONFIG, running
    from fangpin_console.main import create_app

    from .conftest import console_settings

    county = tmp_path / "county.yaml"
    county.write_text(COUNTY_CONFIG.read_text(encoding="utf-8").replace(
        "    multiple_units: []", "    multiple_units: [[township, department]]"),
        encoding="utf-8")
    app = create_app(console_settings(database, nats_server.url, county_config=county))
    async with running(app) as client:
        client.app = app
        admin = await admin_bearer(client)
        both = await client.post("/api/v1/accounts", headers=admin, json={
            "username": "wei.ming", "display_name": "韦明",
            "units": [f"township.{TOWNSHIP}", "county.education"]})
        assert both.status_code == 201, both.text
        one_time = both.json()["one_time_password"]
        async with app.state.db.unit_of_work() as session:  # as if changed at first sign-in
            from fangpin_console.accounts.models import Account

            account = await session.get(Account, both.json()["id"])
            account.must_change_password = False
        # Each sign-in acts for one unit: the first by default, or the one asked for.
        default = await password_grant(client, "wei.ming", one_time)
        chosen = await password_grant(client, "wei.ming", one_time, unit="county.education")
        other = await password_grant(client, "wei.ming", one_time, unit="county.health")

        def claims(answer):
            return jwt.decode(answer.json()["access_token"], options={"verify_signature": False})

        assert claims(default)["role"] == "township"
        assert (claims(chosen)["role"], claims(chosen)["department"]) == (
            "department", "county.education")
        assert other.status_code == 400
        signed = await sign_in(client, "wei.ming", one_time)
        assert signed.status_code == 303
