"""Abuse resistance at the hub: per-caller rate limits (429 + Retry-After), body size, query depth,
aliases, tokens and page size, and errors that never carry SQL, tracebacks or internal hosts."""

from __future__ import annotations

from contextlib import ExitStack

import pytest

from mx_hub.limits import MAX_ALIASES, MAX_DEPTH, MAX_TOKENS
from mx_hub.masking import mask_site_error
from mx_hub.ratelimit import RateLimiter
from mx_schema.http import MAX_BODY_BYTES
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.sites import serve_in_thread
from tests.hub.security.conftest import hub_with

ISSUE = "mutation($l: String!) { issueApiToken(login: $l) { token } }"


def test_token_bucket_refills_per_key():
    now = [0.0]
    limiter = RateLimiter(3, clock=lambda: now[0])
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(20.0)  # 3 a minute: one every 20 s
    assert limiter.take("b") == 0.0
    now[0] = 20.0
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    assert RateLimiter(0).take("a") == 0.0


async def test_rate_limit_answers_429_per_caller(hub_dsn):
    with hub_with(hub_dsn, rate_limit=5) as hub:
        admin = await hub.query(
            ISSUE, {"l": "x"}, admin=True
        )  # the admin token has its own bucket (by address)
        token = admin["data"]["issueApiToken"]["token"]
        statuses = []
        for _ in range(6):
            r = await hub.http.post(
                "/graphql",
                json={"query": "{ siteInfo { name } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            statuses.append(r.status_code)
        assert statuses == [200] * 5 + [429]
        assert r.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(r.headers["retry-after"]) >= 1
        # another caller (anonymous, by address) is not held back by x's use... until its own limit
        r = await hub.http.post("/graphql", json={"query": "{ siteInfo { name } }"})
        assert r.status_code == 200
        # failed authentications count against the address, so guessing tokens is throttled too
        codes = [
            (
                await hub.http.post(
                    "/graphql",
                    json={"query": "{ siteInfo { name } }"},
                    headers={"authorization": "Bearer mxh_guess"},
                )
            ).status_code
            for _ in range(6)
        ]
        assert 401 in codes and codes[-1] == 429
        await hub.http.aclose()


async def test_body_size_limit(running_hub):
    big = "{ sites { name } }" + " " * (MAX_BODY_BYTES + 10)
    r = await running_hub.http.post("/graphql", json={"query": big})
    assert r.status_code == 413
    assert "Traceback" not in r.text

    async def endless():  # chunked, no Content-Length: refused once past the limit, not read to the end
        for _ in range(1000):
            yield b" " * 65536

    r = await running_hub.http.post(
        "/graphql", content=endless(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413


async def test_depth_alias_and_token_limits(running_hub):
    fine = "{ dataCollections { edges { node { sample { crystal { cell { a } } } } } } }"
    assert "errors" not in await running_hub.query(fine)
    # the schema has no cycles, so a query past the limit is also invalid otherwise: both are reported
    too_deep = (
        "{ dataCollections { edges { node { " + "sample { " * MAX_DEPTH + "id" + " }" * MAX_DEPTH + " } } } }"
    )
    body = await running_hub.query(too_deep)
    assert "QUERY_TOO_DEEP" in {e["extensions"]["code"] for e in body["errors"]}
    aliases = "{ " + " ".join(f"a{i}: siteInfo {{ name }}" for i in range(MAX_ALIASES + 1)) + " }"
    assert (await running_hub.query(aliases))["errors"][0]["extensions"]["code"] == "TOO_MANY_ALIASES"
    many = "{ " + "siteInfo { name } " * (MAX_TOKENS // 4) + "}"
    body = await running_hub.query(many)
    assert "errors" in body and "token" in body["errors"][0]["message"].lower()
    body = await running_hub.query("{ dataCollections(first: 100000) { totalCount } }")
    assert body["extensions"]["warnings"][0]["code"] == "PAGE_SIZE_LIMIT"


async def test_depth_limit_counts_fragments(running_hub):
    spread = "fragment S on Sample { " + "crystal { " * MAX_DEPTH + "uuid" + " }" * MAX_DEPTH + " }"
    body = await running_hub.query("{ samples { edges { node { ...S } } } } " + spread)
    assert "QUERY_TOO_DEEP" in {e["extensions"]["code"] for e in body["errors"]}


@pytest.mark.parametrize(
    "message",
    [
        'relation "data_collection" does not exist\nSELECT id FROM data_collection WHERE x = 1',
        'Traceback (most recent call last):\n  File "/srv/app.py", line 3',
        "could not connect to postgresql://mx:secret@db.internal:5432/ispyb",
        "connection refused by 10.1.2.3:3306",
    ],
)
def test_site_error_messages_with_internals_are_masked(message):
    entry = {
        "message": f"site esrf: {message}",
        "path": ["dataCollections"],
        "extensions": {"code": "BACKEND_UNAVAILABLE", "site": "esrf"},
    }
    masked = mask_site_error(entry)
    assert masked["message"].startswith("site esrf: internal error (correlation id ")
    assert masked["extensions"]["code"] == "BACKEND_UNAVAILABLE" and masked["extensions"]["site"] == "esrf"
    assert masked["extensions"]["correlationId"] in masked["message"]
    safe = {
        "message": "site esrf: `first` must be zero or more",
        "extensions": {"code": "BAD_USER_INPUT", "site": "esrf"},
    }
    assert mask_site_error(safe) == safe


class Leaky:
    """A real site that, once `leak` is set, answers every query with an error carrying internals."""

    def __init__(self, app) -> None:
        self.app = app
        self.leak = False

    async def __call__(self, scope, receive, send) -> None:
        if self.leak and scope["type"] == "http" and scope["path"] == "/graphql":
            body = (
                b'{"data": null, "errors": [{"message": "SELECT * FROM session WHERE proposal = \'cm1\' '
                b'at db.esrf.internal (10.0.0.7)", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]}'
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_hub_masks_what_a_site_leaks_and_never_names_its_url(running_hub, esrf_demo_dsn):
    leaky = Leaky(create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf"))
    with ExitStack() as stack:
        url = stack.enter_context(serve_in_thread(leaky))
        assert "errors" not in await running_hub.register("esrf", url)
        leaky.leak = True
        r = await running_hub.http.post(
            "/graphql", json={"query": "{ dataCollections(first: 2) { totalCount } }"}
        )
        assert r.status_code == 200
        text = r.text
        for secret in ("SELECT", "10.0.0.7", "db.esrf.internal", url.split("//")[1]):
            assert secret not in text
        err = r.json()["errors"][0]
        assert err["extensions"]["site"] == "esrf" and err["extensions"]["correlationId"]
    # the site is gone now: the failure names it, not its address
    r = await running_hub.http.post(
        "/graphql", json={"query": "{ dataCollections(first: 2) { totalCount } }"}
    )
    assert "esrf" in r.text and url.split("//")[1] not in r.text and "127.0.0.1" not in r.text


async def test_the_hubs_own_internal_errors_are_masked(running_hub, demo_sites, monkeypatch):
    from mx_hub import admin

    assert "errors" not in await running_hub.register("esrf", demo_sites["esrf"])

    def broken(site):
        raise RuntimeError("password=hunter2 for postgresql://registry@10.9.8.7/hub")

    monkeypatch.setattr(admin, "site_object", broken)
    r = await running_hub.http.post("/graphql", json={"query": "{ sites { name } }"})
    assert r.status_code == 200
    for secret in ("hunter2", "10.9.8.7", "postgresql", "Traceback", "RuntimeError"):
        assert secret not in r.text
    err = r.json()["errors"][0]
    assert err["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert err["extensions"]["correlationId"] in err["message"]


async def test_forwarded_for_does_not_pick_the_rate_limit_bucket(hub_dsn, monkeypatch):
    """Issue 15: uvicorn trusted X-Forwarded-For from 127.0.0.1, so varying it gave 700 x 200."""
    monkeypatch.delenv("MXHUB_FORWARDED_ALLOW_IPS", raising=False)
    with hub_with(hub_dsn, rate_limit=5) as hub:
        statuses = [
            (
                await hub.http.post(
                    "/graphql",
                    json={"query": "{ siteInfo { name } }"},
                    headers={"x-forwarded-for": f"10.0.{k}.1"},
                )
            ).status_code
            for k in range(7)
        ]
        assert statuses[:5] == [200] * 5 and statuses[-1] == 429
        await hub.http.aclose()


async def test_registry_down_is_a_503_with_a_code(pg_server_dsn):
    """Issue 15: token callers got 1,109 x HTTP 500 while the registry's PostgreSQL was down."""
    import uuid

    import asyncpg

    from tests.fixtures.postgres import create_database, drop_database

    name = f"mxhub_reg_{uuid.uuid4().hex[:10]}"
    dsn = await create_database(pg_server_dsn, name)
    admin = await asyncpg.connect(pg_server_dsn)
    try:
        with hub_with(dsn, rate_limit=0) as hub:
            issued = await hub.query(ISSUE, {"l": "x"}, admin=True)
            token = issued["data"]["issueApiToken"]["token"]
            ok = await hub.http.post(
                "/graphql",
                json={"query": "{ siteInfo { name } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            assert ok.status_code == 200
            # the registry becomes unreachable: no new connections, the open ones cut
            await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name
            )
            down = await hub.http.post(
                "/graphql",
                json={"query": "{ siteInfo { name } }"},
                headers={"authorization": f"Bearer {token}"},
            )
            assert down.status_code == 503, down.text
            assert down.json()["errors"][0]["extensions"]["code"] == "REGISTRY_UNAVAILABLE"
            assert down.headers["retry-after"] == "5" and "data" not in down.json()
            await hub.http.aclose()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
        await drop_database(pg_server_dsn, name)
