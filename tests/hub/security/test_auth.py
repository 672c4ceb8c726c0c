"""Identity at the hub: OIDC access tokens, hub-issued API tokens, the admin token; bad tokens are
refused with 401 UNAUTHENTICATED (never treated as anonymous); admin operations need admin."""

from __future__ import annotations

import asyncpg
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.fixtures.hub import ADMIN_TOKEN
from tests.hub.security.conftest import AUDIENCE, ISSUER

VIEWER = "{ viewer { login staffBeamlines admin via } }"
ISSUE = """mutation($l: String!, $r: [String!], $d: Int) { issueApiToken(login: $l, roles: $r, expiresInDays: $d) {
  id token login roles scope expiresAt } }"""


async def raw(
    hub, token: str | None, query: str = VIEWER, variables: dict | None = None, header: str | None = None
):
    headers = (
        {"authorization": header if header is not None else f"Bearer {token}"} if (token or header) else {}
    )
    r = await hub.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=headers)
    return r.status_code, r.json(), r.headers


async def test_anonymous_without_a_token(oidc_hub):
    status, body, _ = await raw(oidc_hub, None)
    assert status == 200
    assert body["data"]["viewer"] == {"login": None, "staffBeamlines": [], "admin": False, "via": "anonymous"}


async def test_oidc_token_names_the_caller_and_maps_roles(oidc_hub, issuer):
    status, body, _ = await raw(oidc_hub, issuer.token("alice", ["staff:i03", "mxhub-admin", "other"]))
    assert status == 200, body
    assert body["data"]["viewer"] == {
        "login": "alice",
        "staffBeamlines": ["i03"],
        "admin": True,
        "via": "oidc",
    }
    token = issuer.token("bob", preferred_username=None)  # falls back to `sub`
    assert (await raw(oidc_hub, token))[1]["data"]["viewer"]["login"] == "id-bob"


def _other_rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.mark.parametrize(
    "case",
    [
        "forged",
        "expired",
        "audience",
        "issuer",
        "hs256-confusion",
        "none-alg",
        "garbage",
        "unknown-kid",
        "basic-scheme",
        "empty-bearer",
        "no-login",
    ],
)
async def test_bad_tokens_are_refused_not_downgraded(oidc_hub, issuer, case):
    header = None
    if case == "forged":  # same kid, another key
        token = issuer.token("alice", ["mxhub-admin"], key=_other_rsa())
    elif case == "expired":
        token = issuer.token("alice", ttl=-120)
    elif case == "audience":
        token = issuer.token("alice", audience="someone-else")
    elif case == "issuer":
        token = issuer.token("alice", issuer="https://evil.example.org")
    elif case == "hs256-confusion":  # the public key as an HMAC secret
        import base64
        import hmac as hmac_
        import json as json_

        pem = issuer.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

        def b64(raw: bytes) -> str:
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        head = b64(json_.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
        claims = b64(
            json_.dumps(
                {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**31, "roles": ["mxhub-admin"]}
            ).encode()
        )
        sig = b64(hmac_.new(pem, f"{head}.{claims}".encode(), "sha256").digest())
        token = f"{head}.{claims}.{sig}"
    elif case == "none-alg":
        token = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": 2**31, "roles": ["mxhub-admin"]},
            None,
            algorithm="none",
        )
    elif case == "garbage":
        token = "not.a.jwt"
    elif case == "unknown-kid":
        token = issuer.token("alice", key=_other_rsa(), kid="k2")
    elif case == "basic-scheme":
        token, header = "x", "Basic YWxpY2U6c2VjcmV0"
    elif case == "empty-bearer":
        token, header = "x", "Bearer"
    else:
        token = issuer.token("alice", preferred_username=None, sub=None)
    status, body, headers = await raw(oidc_hub, token, header=header)
    assert status == 401, (case, body)
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body.get("data") is None
    assert "bearer" in headers.get("www-authenticate", "").lower()


async def test_api_tokens_issue_use_list_revoke(running_hub):
    hub = running_hub
    body = await hub.query(ISSUE, {"l": "carol", "r": ["staff:i04"], "d": 30}, admin=True)
    issued = body["data"]["issueApiToken"]
    assert (
        issued["token"].startswith("mxh_") and issued["scope"] == "read" and issued["roles"] == ["staff:i04"]
    )
    status, body, _ = await raw(hub, issued["token"])
    assert status == 200
    assert body["data"]["viewer"] == {
        "login": "carol",
        "staffBeamlines": ["i04"],
        "admin": False,
        "via": "api-token",
    }
    listed = (await hub.query("{ apiTokens { id login roles scope revokedAt } }", admin=True))["data"][
        "apiTokens"
    ]
    assert listed == [
        {"id": issued["id"], "login": "carol", "roles": ["staff:i04"], "scope": "read", "revokedAt": None}
    ]
    # the secret is stored only as a hash
    conn = await asyncpg.connect(hub.dsn)
    try:
        stored = [tuple(r) for r in await conn.fetch("SELECT * FROM api_token")]
    finally:
        await conn.close()
    assert issued["token"] not in repr(stored)
    assert (await hub.query("mutation($i: ID!) { revokeApiToken(id: $i) }", {"i": issued["id"]}, admin=True))[
        "data"
    ] == {"revokeApiToken": True}
    status, body, _ = await raw(hub, issued["token"])
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await hub.query("mutation($i: ID!) { revokeApiToken(id: $i) }", {"i": issued["id"]}, admin=True))[
        "data"
    ] == {"revokeApiToken": False}
    # a made-up token of the right shape is refused too
    assert (await raw(hub, "mxh_" + "A" * 43))[0] == 401


async def test_expired_api_token_is_refused(running_hub):
    issued = (await running_hub.query(ISSUE, {"l": "dave", "d": 1}, admin=True))["data"]["issueApiToken"]
    assert (await raw(running_hub, issued["token"]))[0] == 200
    conn = await asyncpg.connect(running_hub.dsn)
    try:
        await conn.execute(
            "UPDATE api_token SET expires_at = now() - interval '1 minute' WHERE id = $1", issued["id"]
        )
    finally:
        await conn.close()
    status, body, _ = await raw(running_hub, issued["token"])
    assert status == 401 and "expired" in body["errors"][0]["message"]


ADMIN_OPS = [
    ('mutation { registerSite(name: "x", url: "http://127.0.0.1:9") { name } }', None),
    ('mutation { deregisterSite(name: "x") }', None),
    ('mutation { issueApiToken(login: "mallory", roles: ["admin"]) { token } }', None),
    ('mutation { revokeApiToken(id: "tok_x") }', None),
    ("{ apiTokens { id } }", None),
]


@pytest.mark.parametrize("op", [q for q, _ in ADMIN_OPS])
async def test_admin_operations_need_admin(running_hub, op):
    staff = (await running_hub.query(ISSUE, {"l": "erin", "r": ["staff:*"]}, admin=True))["data"][
        "issueApiToken"
    ]
    for token in (None, staff["token"]):
        status, body, _ = await raw(running_hub, token, op)
        assert status == 200
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN", body
        assert body["data"] is None
    # the bootstrap admin passes the check (the operation itself may then fail on its merits)
    status, body, _ = await raw(running_hub, ADMIN_TOKEN, op)
    assert all(e["extensions"]["code"] != "FORBIDDEN" for e in body.get("errors", []))


async def test_admin_role_tokens_act_as_admin(running_hub, oidc_hub, issuer):
    issued = (await running_hub.query(ISSUE, {"l": "frank", "r": ["admin"]}, admin=True))["data"][
        "issueApiToken"
    ]
    assert issued["scope"] == "admin"
    status, body, _ = await raw(running_hub, issued["token"], "{ apiTokens { login } }")
    assert status == 200 and "errors" not in body
    status, body, _ = await raw(oidc_hub, issuer.token("gina", ["mxhub-admin"]), "{ apiTokens { login } }")
    assert status == 200 and "errors" not in body
    status, body, _ = await raw(oidc_hub, issuer.token("hank", ["staff:i03"]), "{ apiTokens { login } }")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_unknown_roles_are_refused(running_hub):
    body = await running_hub.query(ISSUE, {"l": "ivy", "r": ["superuser"]}, admin=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    body = await running_hub.query(ISSUE, {"l": "ivy", "d": 0}, admin=True)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_without_oidc_configured_a_jwt_is_refused(running_hub, issuer):
    status, body, _ = await raw(running_hub, issuer.token("alice", ["mxhub-admin"]))
    assert status == 401 and body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_jwks_from_a_url_and_key_rotation(hub_dsn, tmp_path, monkeypatch):
    """Keys served by the issuer over HTTP; a token with a new `kid` makes the hub fetch them again."""
    from starlette.applications import Starlette
    from starlette.responses import FileResponse
    from starlette.routing import Route

    from mx_hub import auth
    from tests.fixtures.sites import serve_in_thread
    from tests.hub.security.conftest import Issuer, hub_with

    old, new = Issuer(str(tmp_path / "old.json"), kid="old"), Issuer(str(tmp_path / "new.json"), kid="new")
    served = {"path": old.jwks}
    jwks_app = Starlette(routes=[Route("/certs", lambda request: FileResponse(served["path"]))])
    monkeypatch.setattr(auth, "JWKS_MIN_REFRESH", 0.0)
    with (
        serve_in_thread(jwks_app) as jwks_url,
        hub_with(hub_dsn, oidc_issuer=ISSUER, oidc_jwks=jwks_url + "/certs", oidc_audience=AUDIENCE) as hub,
    ):
        status, body, _ = await raw(hub, old.token("olga"))
        assert status == 200 and body["data"]["viewer"]["login"] == "olga"
        assert (await raw(hub, new.token("nina")))[0] == 401  # not published yet
        served["path"] = new.jwks  # the issuer rotates
        status, body, _ = await raw(hub, new.token("nina"))
        assert status == 200 and body["data"]["viewer"]["login"] == "nina"
        await hub.http.aclose()


async def test_issue_token_command(running_hub):
    import asyncio
    import json

    from click.testing import CliRunner

    from mxhub.cli import main

    args = ["hub", "issue-token", "kim", "--role", "staff:i24", "--hub", running_hub.url, "--json"]
    refused = await asyncio.to_thread(CliRunner().invoke, main, args)
    assert refused.exit_code != 0 and "admin" in refused.output
    result = await asyncio.to_thread(CliRunner().invoke, main, args + ["--token", ADMIN_TOKEN])
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    status, body, _ = await raw(running_hub, issued["token"])
    assert body["data"]["viewer"]["login"] == "kim" and body["data"]["viewer"]["staffBeamlines"] == ["i24"]
