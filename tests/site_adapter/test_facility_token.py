"""A site and a LIMS behind a facility's own router check the facility's OIDC token themselves (issue 20):
a real issuer on loopback (discovery + JWKS), the native demo site in-process. Expected visibility comes
from SQL on the demo store with the access rule's truth table (docs/security.md), not from the site."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from mx_schema.oidc import OidcVerifier
from site_adapter.access import AccessPolicy, EmbargoPolicy
from site_adapter.app import create_app
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.site_adapter.facility_issuer import (
    AUDIENCE,
    FacilityIssuer,
    all_collections,
    member_with_embargoed_data,
    served_issuer,
    visible_collections,
)

IDS = """query($after: String) { dataCollections(first: 500, after: $after) {
  totalCount pageInfo { hasNextPage endCursor } edges { node { localId } } } }"""
LIMS_INFO = "{ limsInfo { name kind } }"


@pytest.fixture(scope="module")
def issuer():
    with served_issuer() as issuer:
        yield issuer


@pytest.fixture
async def lims_store(lims_demo_dsn):
    store = LimsStore(lims_demo_dsn)
    await store.start()
    yield store
    await store.close()


def _post_to(client: httpx.AsyncClient):
    async def post(query: str, variables: dict | None = None, headers: dict | None = None) -> dict:
        r = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return r.json() | {"_status": r.status_code}

    return post


@pytest.fixture
async def esrf_behind_router(esrf_backend, hub_tokens, issuer):
    """The ESRF demo site trusting a test hub's key and the facility's issuer (keys by discovery)."""
    policy = AccessPolicy(
        trusted_keys=[hub_tokens.public_key],
        embargo=EmbargoPolicy(3.0),
        oidc=OidcVerifier(issuer.url, None, AUDIENCE, party="this site"),
    )
    app = create_app(esrf_backend, site="esrf", manage_backend=False, access_policy=policy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://esrf.test") as c:
        yield _post_to(c)


async def _ids(post, headers: dict | None) -> set[str]:
    out, after = set(), None
    while True:
        body = await post(IDS, {"after": after}, headers)
        assert body["_status"] == 200 and "errors" not in body, body
        page = body["data"]["dataCollections"]
        out |= {e["node"]["localId"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(out)  # the count does not leak what the caller cannot see
            return out
        after = page["pageInfo"]["endCursor"]


async def test_a_facility_token_shows_what_the_rule_gives_its_user(
    esrf_behind_router, esrf_demo_dsn, issuer, hub_tokens
):
    post = esrf_behind_router
    member = await member_with_embargoed_data(esrf_demo_dsn)
    anonymous = await _ids(post, None)
    assert anonymous == await visible_collections(esrf_demo_dsn)
    as_member = await _ids(post, issuer.headers(issuer.token(member)))
    assert as_member == await visible_collections(esrf_demo_dsn, login=member)
    assert anonymous < as_member  # the member's embargoed collections, and only through the token
    # Roles map as at the hub: staff of a beamline (any case), admin.
    as_staff = await _ids(post, issuer.headers(issuer.token("someone", ["staff:ID29"])))
    assert as_staff == await visible_collections(esrf_demo_dsn, staff="id29") and anonymous < as_staff
    as_admin = await _ids(post, issuer.headers(issuer.token("root", ["mxhub-admin"])))
    assert as_admin == await all_collections(esrf_demo_dsn)
    # The hub's caller token keeps working, and names the same viewer.
    assert await _ids(post, hub_tokens.headers(hub_tokens("esrf", member))) == as_member


def _other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _hs256_with_public_key(issuer: FacilityIssuer) -> str:
    """The public key used as an HMAC secret: the classic algorithm-confusion forgery."""
    pem = issuer.key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    body = b64(
        json.dumps(
            {"iss": issuer.url, "aud": AUDIENCE, "preferred_username": "x", "exp": 2**31, "roles": ["admin"]}
        ).encode()
    )
    sig = b64(hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest())
    return f"{head}.{body}.{sig}"


@pytest.mark.parametrize(
    "case,code",
    [
        ("forged", "OIDC_TOKEN_INVALID"),
        ("expired", "OIDC_TOKEN_EXPIRED"),
        ("audience", "OIDC_AUDIENCE_MISMATCH"),
        ("issuer", "OIDC_TOKEN_INVALID"),
        ("hs256-confusion", "OIDC_TOKEN_INVALID"),
        ("garbage", "OIDC_TOKEN_INVALID"),
        ("basic-scheme", "OIDC_TOKEN_INVALID"),
        ("no-user", "OIDC_TOKEN_INVALID"),
    ],
)
async def test_a_bad_facility_token_is_refused_with_a_code(esrf_behind_router, issuer, case, code):
    post = esrf_behind_router
    headers = {
        "forged": lambda: issuer.headers(issuer.token("boaty", ["mxhub-admin"], key=_other_key())),
        "expired": lambda: issuer.headers(issuer.token("boaty", ttl=-120)),
        "audience": lambda: issuer.headers(issuer.token("boaty", audience="another-service")),
        "issuer": lambda: issuer.headers(issuer.token("boaty", issuer="https://evil.example.org")),
        "hs256-confusion": lambda: issuer.headers(_hs256_with_public_key(issuer)),
        "garbage": lambda: issuer.headers("not.a.jwt"),
        "basic-scheme": lambda: {"authorization": "Basic Ym9hdHk6c2VjcmV0"},
        "no-user": lambda: issuer.headers(
            jwt.encode(
                {"iss": issuer.url, "aud": AUDIENCE, "exp": 2**31},
                issuer.key,
                algorithm="RS256",
                headers={"kid": issuer.kid},
            )
        ),
    }[case]()
    body = await post(IDS, None, headers)
    assert body["_status"] == 401, body
    assert body["errors"][0]["extensions"]["code"] == code
    assert body["errors"][0]["extensions"]["site"] == "esrf"
    assert body.get("data") is None  # refused, not served as anonymous


async def test_a_site_without_an_issuer_reads_no_bearer_token(
    esrf_backend, hub_tokens, issuer, esrf_demo_dsn
):
    """As before issue 20 (tests/hub/security/test_matrix.py): `Authorization` is not an identity there."""
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], embargo=EmbargoPolicy(3.0))
    app = create_app(esrf_backend, site="esrf", manage_backend=False, access_policy=policy)
    member = await member_with_embargoed_data(esrf_demo_dsn)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://esrf.test") as c:
        seen = await _ids(_post_to(c), issuer.headers(issuer.token(member)))
    assert seen == await visible_collections(esrf_demo_dsn)  # the anonymous set, not the member's


async def test_an_unreachable_issuer_is_a_503_not_anonymous(esrf_backend, hub_tokens, issuer):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{s.getsockname()[1]}"
    policy = AccessPolicy(trusted_keys=[hub_tokens.public_key], oidc=OidcVerifier(gone, None, AUDIENCE))
    app = create_app(esrf_backend, site="esrf", manage_backend=False, access_policy=policy)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://esrf.test") as c:
        body = await _post_to(c)(IDS, None, issuer.headers(issuer.token("boaty", issuer=gone)))
    assert body["_status"] == 503 and body["errors"][0]["extensions"]["code"] == "OIDC_KEYS_UNAVAILABLE"


async def test_a_lims_with_an_issuer_requires_a_valid_token(lims_store, hub_tokens, issuer):
    """The LIMS has no visibility rule of its own: with an issuer it answers signed-in users (and the
    hubs it trusts) only; the samples a router asks it about come from the site's rule-filtered answer."""
    app = create_lims_app(
        lims_store,
        name="lims",
        manage_store=False,
        trusted_keys=[hub_tokens.public_key],
        oidc=OidcVerifier(issuer.url, None, AUDIENCE, party="this LIMS"),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lims.test") as c:
        post = _post_to(c)
        body = await post(LIMS_INFO)
        assert body["_status"] == 401 and body["errors"][0]["extensions"]["code"] == "CALLER_TOKEN_REQUIRED"
        body = await post(LIMS_INFO, None, issuer.headers(issuer.token("boaty")))
        assert body["_status"] == 200 and body["data"]["limsInfo"] == {"name": "lims", "kind": "lims"}
        body = await post(LIMS_INFO, None, issuer.headers(issuer.token("boaty", ttl=-120)))
        assert body["_status"] == 401 and body["errors"][0]["extensions"]["code"] == "OIDC_TOKEN_EXPIRED"
        body = await post(LIMS_INFO, None, hub_tokens.headers(hub_tokens("lims", "boaty")))
        assert body["_status"] == 200 and body["data"]["limsInfo"]["name"] == "lims"


async def test_a_lims_with_only_an_issuer(lims_store, hub_tokens, issuer):
    """No hub key: a hub's caller token cannot be verified, so it is refused; a facility token answers."""
    app = create_lims_app(
        lims_store, name="lims", manage_store=False, oidc=OidcVerifier(issuer.url, None, AUDIENCE)
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lims.test") as c:
        post = _post_to(c)
        body = await post(LIMS_INFO, None, hub_tokens.headers(hub_tokens("lims", "boaty")))
        assert body["_status"] == 401 and body["errors"][0]["extensions"]["code"] == "CALLER_TOKEN_REQUIRED"
        assert (await post(LIMS_INFO, None, issuer.headers(issuer.token("boaty"))))["_status"] == 200
