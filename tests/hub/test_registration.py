"""Registration tells the real cause, with what to do (issue 13): every case a real site or LIMS on
loopback, registered through a real hub. Each failed on the old code with one message for all."""

from __future__ import annotations

import socket
from contextlib import ExitStack

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mx_hub import trust
from mx_hub.auth import Caller
from mx_hub.client import SiteFailure
from mx_hub.registration import transport_cause
from site_adapter.access import AccessPolicy
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.hub import HUB_KEY
from tests.fixtures.sites import serve_in_thread

COUNT = "{ dataCollections(first: 1) { totalCount } }"


def site_app(dsn: str, name: str, keys: list | None) -> Starlette:
    """A native site; `keys` None: open access, else the hub keys it trusts (maybe none)."""
    policy = None if keys is None else AccessPolicy(trusted_keys=keys)
    return create_site_app(NativeBackend(dsn, min_size=1, max_size=2), site=name, access_policy=policy)


def failure(body: dict) -> dict:
    assert body.get("data") is None, body
    err = body["errors"][0]
    return {"message": err["message"], **err["extensions"]}


async def test_a_site_that_trusts_another_hub_key_names_both_key_ids(running_hub, esrf_demo_dsn):
    other = trust.generate_key()
    with serve_in_thread(site_app(esrf_demo_dsn, "esrf", [other.public_key()])) as url:
        err = failure(await running_hub.register("esrf", url))
    assert err["code"] == "UNTRUSTED_HUB_KEY"
    assert err["hubKeyId"] == trust.key_id(HUB_KEY) and err["trustedKeyIds"] == [trust.key_id(other)]
    assert trust.key_id(HUB_KEY) in err["message"] and trust.key_id(other) in err["message"]
    assert "--trust-hub-key" in err["message"] and "mxhub hub key --hub" in err["message"]
    assert "BEGIN" not in str(err)  # key ids only, never key material


async def test_the_site_says_why_it_refused_in_its_own_answer(esrf_demo_dsn):
    """Machine-readable at the site itself: the key id it saw and the ones it trusts."""
    other = trust.generate_key()
    with serve_in_thread(site_app(esrf_demo_dsn, "esrf", [other.public_key()])) as url:
        async with httpx.AsyncClient(base_url=url) as c:
            r = await c.post(
                "/graphql",
                json={"query": COUNT},
                headers={"x-mxhub-caller": trust.sign_caller(HUB_KEY, Caller("x"), "esrf")},
            )
    ext = r.json()["errors"][0]["extensions"]
    assert r.status_code == 401
    assert ext == {
        "code": "UNTRUSTED_HUB_KEY",
        "site": "esrf",
        "keyId": trust.key_id(HUB_KEY),
        "trustedKeyIds": [trust.key_id(other)],
    }


async def test_a_site_that_trusts_no_key_serves_the_hub_as_anonymous(running_hub, esrf_demo_dsn):
    """What its start-up warning says: registered, public records only, and the hub tells the admin why."""
    with serve_in_thread(site_app(esrf_demo_dsn, "esrf", [])) as url:
        async with httpx.AsyncClient(base_url=url) as c:
            public = (await c.post("/graphql", json={"query": COUNT})).json()["data"]["dataCollections"][
                "totalCount"
            ]
        body = await running_hub.query(
            "mutation($n: String!, $u: String!) { registerSite(name: $n, url: $u) { name status } }",
            {"n": "esrf", "u": url},
            admin=True,
        )
        assert "errors" not in body, body
        assert body["data"]["registerSite"] == {"name": "esrf", "status": "up"}
        warning = body["extensions"]["warnings"][0]
        assert warning["code"] == "CALLER_TOKEN_IGNORED" and warning["site"] == "esrf"
        assert "anonymous" in warning["message"] and "--trust-hub-key" in warning["message"]
        # an admin through the hub sees what anyone sees there: the public records, no more
        as_admin = await running_hub.query(COUNT, admin=True)
        assert as_admin["data"]["dataCollections"]["totalCount"] == public
    full = 1500  # tests/fixtures/sites.py DEMO_COLLECTIONS: the embargo hides some of them
    assert 0 < public < full


@pytest.mark.parametrize("keys", ["trusted", "open"])
async def test_a_site_started_under_another_name(running_hub, esrf_demo_dsn, keys):
    """Caught by the site (the token is for another name) or, with open access, by the hub (siteInfo)."""
    with serve_in_thread(
        site_app(esrf_demo_dsn, "esrf", [HUB_KEY.public_key()] if keys == "trusted" else None)
    ) as url:
        err = failure(await running_hub.register("grenoble", url))
    assert err["code"] == "SITE_NAME_MISMATCH" and err["siteName"] == "esrf"
    assert "--name esrf" in err["message"] and "register it as esrf" in err["message"]


async def test_wrong_kind_both_ways(running_hub, esrf_demo_dsn, lims_demo_dsn):
    with ExitStack() as stack:
        lims = stack.enter_context(serve_in_thread(create_lims_app(LimsStore(lims_demo_dsn), name="crims")))
        site = stack.enter_context(serve_in_thread(site_app(esrf_demo_dsn, "esrf", [HUB_KEY.public_key()])))
        err = failure(await running_hub.register("crims", lims))  # a LIMS without --kind lims
        assert err["code"] == "WRONG_SITE_KIND" and err["kind"] == "lims" and "--kind lims" in err["message"]
        err = failure(await running_hub.register("esrf", site, kind="lims"))
        assert err["code"] == "WRONG_SITE_KIND" and err["kind"] == "site"
        assert "without --kind lims" in err["message"]
        # and the right kinds register
        assert (await running_hub.register("crims", lims, kind="lims"))["data"]["registerSite"][
            "status"
        ] == "up"
        assert (await running_hub.register("esrf", site))["data"]["registerSite"]["status"] == "up"


async def test_unreachable_site_connection_refused(running_hub):
    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = failure(await running_hub.register("esrf", f"http://127.0.0.1:{port}"))
    assert err["code"] == "SITE_UNAVAILABLE" and "refused" in err["message"] and "--port" in err["message"]


async def test_a_url_that_is_not_a_graphql_endpoint(running_hub):
    """A real server that is not a site (the hub's own /health path as a site URL): said so, with the fix."""
    err = failure(await running_hub.register("esrf", running_hub.url + "/health/"))
    assert (
        err["code"] == "SITE_ERROR"
        and "did not answer GraphQL" in err["message"]
        and "base URL" in err["message"]
    )


def test_dns_failure_is_named():
    """Pure: the exception chain httpx raises for an unknown host (no DNS traffic from a test)."""
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror:
            raise httpx.ConnectError("[Errno -2] Name or service not known")  # noqa: B904 - httpx chains implicitly
    except httpx.ConnectError:
        try:
            raise SiteFailure("esrf", "SITE_UNAVAILABLE", "site esrf is unreachable (ConnectError)") from None
        except SiteFailure as f:
            code, reason = transport_cause(f)
    assert code == "SITE_UNAVAILABLE" and "does not resolve" in reason


async def test_tls_error_https_to_a_plain_http_site(running_hub, esrf_demo_dsn):
    with serve_in_thread(site_app(esrf_demo_dsn, "esrf", [HUB_KEY.public_key()])) as url:
        err = failure(await running_hub.register("esrf", url.replace("http://", "https://")))
    assert err["code"] == "SITE_TLS_ERROR" and "http://" in err["message"]


def incompatible_site(sdl: str, version: str) -> Starlette:
    """A site of another major schema version: the real site SDL, siteInfo with `version`."""

    async def graphql(request: Request) -> JSONResponse:
        query = (await request.json())["query"]
        if "_service" in query:
            return JSONResponse({"data": {"_service": {"sdl": sdl}}})
        return JSONResponse(
            {"data": {"siteInfo": {"name": "future", "backend": "native", "schemaVersion": version}}}
        )

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def test_incompatible_schema_version(running_hub, esrf_gql):
    sdl = (await esrf_gql("{ _service { sdl } }"))["data"]["_service"]["sdl"]
    with serve_in_thread(incompatible_site(sdl, "2.0.0")) as url:
        err = failure(await running_hub.register("future", url))
    assert err["code"] == "SITE_INCOMPATIBLE" and err["schemaVersion"] == "2.0.0"
    assert "major version" in err["message"]


async def test_health_checks_name_why_a_site_refuses_the_hub(hub_dsn, esrf_demo_dsn):
    """After registration the site's operator trusts another hub's key: the registry says so, with the
    key ids, instead of "answered errors to a health check"."""
    import asyncio

    from tests.hub.security.conftest import hub_with

    policy = AccessPolicy(trusted_keys=[HUB_KEY.public_key()])
    app = create_site_app(
        NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf", access_policy=policy
    )
    other = trust.generate_key()
    with serve_in_thread(app) as url, hub_with(hub_dsn, health_interval=0.2) as hub:
        assert "errors" not in await hub.register("esrf", url)
        policy.trusted_keys[:] = [other.public_key()]
        site: dict = {}
        for _ in range(600):  # health checks run every 0.2 s; wait for one, generously
            body = await hub.query("{ sites { name status lastError } }")
            site = next(s for s in body["data"]["sites"] if s["name"] == "esrf")
            if site["status"] == "down":
                break
            await asyncio.sleep(0.1)
        assert site["status"] == "down", site
        assert "trusts hub key(s) " + trust.key_id(other) in site["lastError"]
        assert trust.key_id(HUB_KEY) in site["lastError"] or "not this hub's key" in site["lastError"]
        await hub.http.aclose()
