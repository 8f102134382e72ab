"""Token verification in the domain services: answers that name no internals, asymmetric keys
only, a key set that refetches on an unknown kid without letting garbage flood its source, and
an external OIDC provider in the console's place."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from fangpin_common.auth import Principal
from fangpin_common.testing import TEST_KEY, auth, running, settings_for, token_for
from fangpin_common.tokens import KeySet, SigningKey, jwks_of, mint
from fangpin_monitoring.main import create_app
from fangpin_monitoring.settings import MonitoringSettings

REFUSED = {"detail": "访问令牌无效或已过期，请重新登录"}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # verification does not touch the database


async def test_refusals_name_no_internals(database, nats_server):
    app = create_app(settings_for(MonitoringSettings, database, nats_server.url))
    async with running(app) as client:
        missing = await client.get("/admin/outbox")
        assert missing.status_code == 401 and missing.json() == {"detail": "未登录：缺少访问令牌"}
        assert missing.headers["www-authenticate"] == "Bearer"
        stranger = SigningKey.generate("test-key")  # same kid, another key
        county = Principal(sub="x", role="county")
        public = TEST_KEY.public_jwk()["x"].encode()
        forged_hs256 = jwt.encode({"sub": "x", "role": "county", "iss": "fangpin",
                                   "iat": 0, "exp": 2**31}, public, algorithm="HS256",
                                  headers={"kid": "test-key"})
        for token in ("not-a-token", "a.b.c", forged_hs256,
                      mint(stranger, county, issuer="fangpin", ttl=timedelta(minutes=5)),
                      mint(TEST_KEY, county, issuer="someone-else", ttl=timedelta(minutes=5)),
                      mint(TEST_KEY, county, issuer="fangpin", ttl=timedelta(minutes=5),
                           now=datetime.now(UTC) - timedelta(minutes=6))):
            answer = await client.get("/admin/outbox", headers=auth(token))
            assert (answer.status_code, answer.json()) == (401, REFUSED), token
        # A valid token of a role that may not act: 403, in Chinese, without the role code.
        township = await client.get("/admin/outbox", headers=auth(token_for("township", "板榄镇")))
        assert township.status_code == 403 and township.json() == {"detail": "当前账号无权执行此操作"}
        assert (await client.get("/admin/outbox",
                                 headers=auth(token_for("county")))).status_code == 200


async def test_external_oidc_provider_by_configuration(database, nats_server, tmp_path):
    """Issuer, JWKS (here a file) and the claim naming the unit: role and scope then come
    from the county directory, as for the console's accounts."""
    provider = SigningKey.generate("idp-2024")
    jwks_file = tmp_path / "idp-jwks.json"
    jwks_file.write_text(json.dumps(jwks_of([provider])))
    settings = settings_for(MonitoringSettings, database, nats_server.url,
                            jwt_issuer="https://idp.rongan.example", jwt_audience="fangpin",
                            jwks=str(jwks_file), unit_claim="fangpin_unit",
                            session_revocations=False)

    def token(unit: str | None, audience: str = "fangpin") -> str:
        claims = {"sub": "zhang.san@idp", "iss": "https://idp.rongan.example", "aud": audience,
                  "iat": int(datetime.now(UTC).timestamp()),
                  "exp": int((datetime.now(UTC) + timedelta(minutes=5)).timestamp())}
        if unit:
            claims["fangpin_unit"] = unit
        return jwt.encode(claims, provider.private, algorithm="EdDSA",
                          headers={"kid": provider.kid})

    app = create_app(settings)
    async with running(app) as client:
        county = await client.get("/admin/outbox",
                                  headers=auth(token("county.rural_revitalisation")))
        assert county.status_code == 200
        principal = await app.state.verifier.principal(token("township.450224103"))
        assert (principal.role, principal.township, principal.sub) == (
            "township", "450224103", "zhang.san@idp")
        for bad in (token(None), token("county.nowhere"), token("county.education", "other"),
                    token_for("county")):  # the built-in accounts' tokens no longer count
            answer = await client.get("/admin/outbox", headers=auth(bad))
            assert (answer.status_code, answer.json()) == (401, REFUSED)


async def test_unknown_kid_refetches_at_most_every_min_refetch():
    first, second = SigningKey.generate("k1"), SigningKey.generate("k2")
    published = [first]
    calls = []

    async def fetch():
        calls.append(1)
        return jwks_of(published)

    keys = KeySet(fetch, max_age=300, min_refetch=3600)
    assert (await keys.get("k1")) is not None and len(calls) == 1
    published.append(second)
    # Within min_refetch an unknown kid costs no fetch: garbage kids cannot flood the console.
    for _ in range(50):
        assert await keys.get("garbage") is None
    assert await keys.get("k2") is None and len(calls) == 1
    keys.min_refetch = 0
    assert await keys.get("k2") is not None and len(calls) == 2
    assert keys.cached("k1") is not None  # the hot path: no I/O


async def test_a_failing_source_keeps_the_keys_it_gave():
    key = SigningKey.generate("k1")
    up = [True]

    async def fetch():
        if not up[0]:
            raise OSError("console unreachable")
        return jwks_of([key])

    keys = KeySet(fetch, max_age=0, min_refetch=0)
    assert await keys.get("k1") is not None
    up[0] = False
    assert await keys.get("k1") is not None  # stale, refetch failed: still verifies


def test_symmetric_or_unusable_keys_are_never_trusted():
    keys = KeySet(static={"keys": [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hs", "alg": "HS256"},
        {"kty": "OKP", "crv": "Ed25519", "x": "bad", "kid": "broken"},
        TEST_KEY.public_jwk() | {"use": "enc", "kid": "enc"},
        TEST_KEY.public_jwk()]})
    assert keys.cached("hs") is None and keys.cached("broken") is None
    assert keys.cached("enc") is None and keys.cached("test-key") is not None


async def test_a_verified_token_is_checked_again_for_expiry_and_revocation():
    from fangpin_common.settings import ServiceSettings
    from fangpin_common.tokens import InvalidToken, Verifier

    verifier = Verifier(ServiceSettings(_env_file=None, jwt_leeway_seconds=0),
                        KeySet(static=jwks_of([TEST_KEY])))
    county = Principal(sub="x", role="county")
    token = mint(TEST_KEY, county, issuer="fangpin", ttl=timedelta(seconds=1), sid="s1")
    assert (await verifier.principal(token)).sub == "x"
    assert (await verifier.principal(token)).sub == "x"  # from the verified-token cache
    verifier.revocations.add("s1", datetime.now(UTC) + timedelta(minutes=1))
    with pytest.raises(InvalidToken):
        await verifier.principal(token)
    other = mint(TEST_KEY, county, issuer="fangpin", ttl=timedelta(seconds=1))
    await verifier.principal(other)
    import asyncio

    await asyncio.sleep(1.1)
    with pytest.raises(InvalidToken):
        await verifier.principal(other)
