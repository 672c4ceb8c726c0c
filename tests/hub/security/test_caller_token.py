"""The token the hub sends: on every call to a site and a LIMS, signed with the hub's key, naming the
caller for exactly that site; the key is served at /hub-key and kept across restarts."""

from __future__ import annotations

import asyncio
import time
from contextlib import ExitStack

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from mx_hub import trust
from mx_hub.auth import ANONYMOUS, Caller
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.hub import HUB_KEY, eventually
from tests.fixtures.sites import serve_in_thread
from tests.hub.security.conftest import Recorder, hub_with

ISSUE = "mutation($l: String!, $r: [String!]) { issueApiToken(login: $l, roles: $r) { token } }"
WITH_LIMS = "{ dataCollections(first: 3) { edges { node { sample { crystallisation { method } } } } } }"


def decode(token: str, audience: str) -> dict:
    return jwt.decode(
        token, HUB_KEY.public_key(), algorithms=["EdDSA"], audience=audience, issuer="mxhub-hub"
    )


def test_signed_claims_follow_the_contract():
    caller = Caller("alice", frozenset({"i03", "i04"}), False, "oidc")
    token = trust.sign_caller(HUB_KEY, caller, "esrf")
    assert jwt.get_unverified_header(token) == {
        "alg": "EdDSA",
        "typ": "JWT",
        "kid": trust.key_id(HUB_KEY.public_key()),
    }
    claims = decode(token, "esrf")
    assert set(claims) == {"iss", "aud", "sub", "mxhub_staff", "mxhub_admin", "iat", "exp", "jti"}
    assert (claims["sub"], claims["mxhub_staff"], claims["mxhub_admin"]) == ("alice", ["i03", "i04"], False)
    assert claims["exp"] - claims["iat"] == 60 and abs(claims["iat"] - time.time()) < 5
    assert (
        len(claims["jti"]) == 32
        and claims["jti"] != decode(trust.sign_caller(HUB_KEY, caller, "esrf"), "esrf")["jti"]
    )
    anonymous = decode(trust.sign_caller(HUB_KEY, ANONYMOUS, "esrf"), "esrf")
    assert "sub" not in anonymous and anonymous["mxhub_staff"] == [] and anonymous["mxhub_admin"] is False
    with pytest.raises(jwt.InvalidAudienceError):
        decode(token, "diamond")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, trust.generate_key().public_key(), algorithms=["EdDSA"], audience="esrf")
    raw = HUB_KEY.public_key().public_bytes(*_raw())
    import hashlib

    assert trust.key_id(HUB_KEY) == hashlib.sha256(raw).hexdigest()[:16]


def _raw():
    from cryptography.hazmat.primitives import serialization

    return serialization.Encoding.Raw, serialization.PublicFormat.Raw


@pytest.fixture
async def recorded(running_hub, esrf_demo_dsn, lims_demo_dsn):
    site = Recorder(create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf"))
    lims = Recorder(create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=2), name="lims"))
    with ExitStack() as stack:
        site_url = stack.enter_context(serve_in_thread(site))
        lims_url = stack.enter_context(serve_in_thread(lims))
        assert "errors" not in await running_hub.register("esrf", site_url)
        assert "errors" not in await running_hub.register("lims", lims_url, kind="lims")
        yield running_hub, site, lims


async def test_every_call_carries_the_callers_token(recorded):
    hub, site, lims = recorded
    # registration (as the bootstrap admin) already went out with a token
    assert site.tokens and all(site.tokens)
    assert decode(site.tokens[0], "esrf")["mxhub_admin"] is True and "sub" not in decode(
        site.tokens[0], "esrf"
    )
    assert decode(lims.tokens[0], "lims")["mxhub_admin"] is True
    staff = (await hub.query(ISSUE, {"l": "alice", "r": ["staff:i03", "staff:id29"]}, admin=True))["data"][
        "issueApiToken"
    ]
    site.tokens.clear(), lims.tokens.clear()
    body = await hub.query(WITH_LIMS, token=staff["token"])
    assert "errors" not in body, body
    for rec, audience in ((site, "esrf"), (lims, "lims")):
        assert len(rec.tokens) >= 1 and all(rec.tokens)
        named = [
            c for c in (decode(t, audience) for t in rec.tokens) if "sub" in c
        ]  # the rest: health checks
        assert named, audience
        for claims in named:
            assert claims["sub"] == "alice" and sorted(claims["mxhub_staff"]) == ["i03", "id29"]
            assert claims["mxhub_admin"] is False and claims["aud"] == audience
    site.tokens.clear()
    await hub.query("{ dataCollections(first: 1) { totalCount } }")
    for claims in (decode(t, "esrf") for t in site.tokens):
        assert "sub" not in claims and claims["mxhub_staff"] == [] and claims["mxhub_admin"] is False
    # health checks (outside any request) go out as anonymous, signed all the same
    site.tokens.clear()
    await eventually(lambda: bool(site.tokens), "a health check (every 2 s)")  # generous: a loaded machine
    assert site.tokens and "sub" not in decode(site.tokens[0], "esrf")


async def test_two_phase_requests_reuse_one_token_per_site(quiet_hub, esrf_demo_dsn, diamond_demo_dsn):
    # quiet_hub: no health checks, so every token the sites record is this query's
    recs = {
        n: Recorder(create_site_app(NativeBackend(d, min_size=1, max_size=2), site=n))
        for n, d in (("esrf", esrf_demo_dsn), ("diamond", diamond_demo_dsn))
    }
    with ExitStack() as stack:
        for n, r in recs.items():
            assert "errors" not in await quiet_hub.register(n, stack.enter_context(serve_in_thread(r)))
            r.tokens.clear()
        await quiet_hub.query("{ dataCollections(first: 100) { edges { node { id wavelength } } } }")
        for n, r in recs.items():
            assert len(r.tokens) == 2, n  # positions, then records: one token
            assert len(set(r.tokens)) == 1


async def test_identical_requests_of_different_callers_are_not_shared(recorded):
    hub, site, _ = recorded
    tokens = [
        (await hub.query(ISSUE, {"l": login}, admin=True))["data"]["issueApiToken"]["token"]
        for login in ("amy", "ben")
    ]
    site.tokens.clear()
    q = "{ dataCollections(first: 2) { edges { node { id } } } }"
    await asyncio.gather(*(hub.query(q, token=t) for t in tokens for _ in range(3)))
    # discard anonymous health checks (every 2 s): on a loaded machine one may land in between
    subs = {decode(t, "esrf").get("sub") for t in site.tokens} - {None}
    assert subs == {"amy", "ben"}


async def test_hub_key_is_served_and_kept_across_restarts(hub_dsn):
    from click.testing import CliRunner

    from mxhub.cli import main

    pems = []
    for _ in range(2):
        with hub_with(hub_dsn, signing_key=None) as hub:
            r = await hub.http.get("/hub-key")
            assert r.status_code == 200 and "BEGIN PUBLIC KEY" in r.text
            assert r.headers["x-mxhub-key-id"] == trust.key_id(load_pem_public_key(r.text.encode()))
            pems.append(r.text)
            await hub.http.aclose()
    assert pems[0] == pems[1]
    result = await asyncio.to_thread(CliRunner().invoke, main, ["hub", "key", "--dsn", hub_dsn])
    assert result.exit_code == 0, result.output
    assert pems[0].strip() in result.output
    # a configured key wins, and is what /hub-key shows
    with hub_with(hub_dsn) as hub:
        r = await hub.http.get("/hub-key")
        assert r.text == trust.public_pem(HUB_KEY)
        await hub.http.aclose()


async def test_a_site_accepts_the_hub_only_with_its_key(hub_dsn, esrf_demo_dsn):
    from site_adapter.access import AccessPolicy

    other = trust.generate_key()
    site = create_site_app(
        NativeBackend(esrf_demo_dsn, min_size=1, max_size=2),
        site="esrf",
        access_policy=AccessPolicy(trusted_keys=[other.public_key()]),
    )
    with serve_in_thread(site) as url, hub_with(hub_dsn) as hub:
        body = await hub.register("esrf", url)
        assert body["errors"][0]["extensions"]["site"] if "site" in body["errors"][0]["extensions"] else True
        assert body["data"] is None
        # the site itself refuses plain and forged identity
        async with httpx.AsyncClient(base_url=url) as c:
            r = await c.post(
                "/graphql",
                json={"query": "{ dataCollections(first: 1) { totalCount } }"},
                headers={"x-mxhub-caller": trust.sign_caller(HUB_KEY, Caller("x", admin=True), "esrf")},
            )
            assert r.status_code == 401
        await hub.http.aclose()
