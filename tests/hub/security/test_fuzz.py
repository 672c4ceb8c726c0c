"""Fuzzing GraphQL endpoints with schemathesis: the hub (queries and mutations generated from its own
SDL) over two sites that enforce the access rule, and one such site directly (the common schema):
no 5xx, no tracebacks, no SQL, no internal hosts in errors, every error coded."""

from __future__ import annotations

import re

import httpx
import pytest
from graphql import print_schema
from graphql.language import StringValueNode
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from mx_hub.sdl import common_schema, hub_schema
from tests.hub.security.conftest import hub_with

schemathesis = pytest.importorskip("schemathesis")  # a test dependency (pyproject `test` extra)
schemathesis.graphql.scalar("DateTime", st.datetimes().map(lambda d: StringValueNode(value=d.isoformat())))
SCHEMA = schemathesis.graphql.from_file(print_schema(hub_schema()))
SITE_SCHEMA = schemathesis.graphql.from_file(
    print_schema(common_schema())
)  # the site's, federation fields aside
LEAKS = re.compile(r"Traceback|File \"|asyncpg|syntax error at|SELECT .* FROM|postgresql://", re.S)
HOSTS = re.compile(
    r"127\.0\.0\.1|localhost|https?://"
)  # site URLs are public only as `sites { url }` (CONTRACT.md)


@pytest.fixture
async def fuzz_target(hub_dsn, secured_sites):
    # no rate limit: hypothesis sends hundreds of requests a minute on purpose
    with hub_with(hub_dsn, rate_limit=0, soft_deadline=2.0) as hub:
        for name, url in secured_sites.items():
            assert "errors" not in await hub.register(name, url)
        yield hub.url
        await hub.http.aclose()


@SCHEMA.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_hub_never_fails_or_leaks_under_fuzzing(case, fuzz_target):
    check(case.call(base_url=fuzz_target + "/graphql", timeout=30))


@SITE_SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_a_site_never_fails_or_leaks_under_fuzzing(case, secured_sites):
    check(case.call(base_url=secured_sites["esrf"] + "/graphql", timeout=30))


def check(response) -> None:
    assert response.status_code < 500, response.text[:2000]
    assert not LEAKS.search(response.text), response.text[:2000]
    body = response.json()
    assert "data" in body or "errors" in body
    for error in body.get("errors") or []:
        assert error.get("extensions", {}).get("code"), error
        assert not HOSTS.search(str(error)), error


def test_the_fuzzer_reaches_the_hub(fuzz_target):
    """A sanity check that the target is the hub schemathesis fuzzes: one known query answers data."""
    r = httpx.post(fuzz_target + "/graphql", json={"query": "{ dataCollections(first: 1) { totalCount } }"})
    assert r.status_code == 200 and r.json()["data"]["dataCollections"]["totalCount"] > 0


def _lims_schema():
    from graphql.language import ObjectValueNode

    from site_adapter.lims.schema import schema as lims

    # federation's own scalars, as a router would send them: representations are objects
    schemathesis.graphql.scalar("_Any", st.just(ObjectValueNode(fields=())))
    schemathesis.graphql.scalar("JSON", st.just(ObjectValueNode(fields=())))
    return schemathesis.graphql.from_file(print_schema(lims._schema))


LIMS_SCHEMA = _lims_schema()


@pytest.fixture(scope="module")
def running_lims(lims_demo_dsn):
    from site_adapter.lims.app import create_lims_app
    from site_adapter.lims.store import LimsStore
    from tests.fixtures.sites import serve_in_thread

    with serve_in_thread(
        create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=2), name="lims")
    ) as url:
        yield url


@LIMS_SCHEMA.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_a_lims_never_fails_or_leaks_under_fuzzing(case, running_lims):
    """Issue 15: the LIMS is held to the hub's standard too."""
    check(case.call(base_url=running_lims + "/graphql", timeout=30))
