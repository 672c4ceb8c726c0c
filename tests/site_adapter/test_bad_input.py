"""Bad input gets a GraphQL error with a code in extensions: never a 500, never a stack trace."""

from __future__ import annotations

import httpx
import pytest

from mx_schema.ids import encode_id
from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend

Q = "query($f: DataCollectionFilter, $first: Int, $after: String) { dataCollections(filter: $f, first: $first, after: $after) { totalCount edges { node { id } } } }"


@pytest.mark.parametrize(
    "variables,code,fragment",
    [
        ({"first": -1}, "BAD_USER_INPUT", "`first`"),
        ({"after": "not-a-cursor"}, "INVALID_CURSOR", "cursor"),
        ({"f": {"experimentType": "Rotation please"}}, "BAD_USER_INPUT", "known values"),
        ({"f": {"crystalUuid": "1234"}}, "BAD_USER_INPUT", "crystalUuid"),
        ({"f": {"visit": "cm14451"}}, "BAD_USER_INPUT", "visit"),
        ({"f": {"uniprotId": "lysozyme"}}, "BAD_USER_INPUT", "UniProt"),
        ({"f": {"resolutionBetterThan": -2}}, "BAD_USER_INPUT", "resolutionBetterThan"),
        ({"f": {"sampleName": "x" * 5000}}, "BAD_USER_INPUT", "too long"),
        ({"f": {"noSuchFilter": 1}}, "GRAPHQL_VALIDATION_FAILED", "noSuchFilter"),
    ],
)
async def test_bad_filter_values_get_coded_errors(esrf_gql, variables, code, fragment):
    body = await esrf_gql(Q, variables)
    assert body["errors"], body
    err = body["errors"][0]
    assert err["extensions"]["code"] == code
    assert fragment in err["message"]
    assert "Traceback" not in str(body)


async def test_huge_first_is_capped_and_said(esrf_gql):
    body = await esrf_gql(Q, {"first": 100000})
    assert "errors" not in body
    assert len(body["data"]["dataCollections"]["edges"]) == 500
    assert body["extensions"]["warnings"][0]["code"] == "PAGE_SIZE_LIMIT"


async def test_cursor_of_another_connection_is_refused(esrf_gql):
    page = await esrf_gql("{ samples(first: 1) { pageInfo { endCursor } } }")
    body = await esrf_gql(Q, {"after": page["data"]["samples"]["pageInfo"]["endCursor"]})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


@pytest.mark.parametrize(
    "gid,code",
    [
        ("garbage", "INVALID_ID"),
        (encode_id("diamond", "DataCollection", "1"), "NOT_FOUND"),
    ],
)
async def test_bad_node_ids(esrf_gql, gid, code):
    body = await esrf_gql("query($id: ID!) { node(id: $id) { id } }", {"id": gid})
    assert body["errors"][0]["extensions"]["code"] == code


async def test_malformed_http_requests_are_4xx(esrf_backend):
    app = create_app(esrf_backend, site="esrf", manage_backend=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        r = await c.post("/graphql", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
        r = await c.post(
            "/graphql",
            json={"query": "{ dataCollections { "},
            headers={"accept": "application/graphql-response+json"},
        )
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/graphql-response+json")
        assert r.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        r = await c.post("/graphql", content=b"x" * 1_100_000, headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = await c.get("/graphql", headers={"accept": "text/html"})
        assert r.status_code == 200 and "graphiql" in r.text.lower()


async def test_a_lost_store_is_a_coded_error_and_ready_says_so(pg_server_dsn, native_template):
    from tests.fixtures.postgres import create_database, drop_database

    name = "mxhub_lost_store_test"
    await drop_database(pg_server_dsn, name)
    dsn = await create_database(pg_server_dsn, name, template=native_template)
    backend = NativeBackend(dsn)
    await backend.start()
    app = create_app(backend, site="lost", manage_backend=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
            assert (await c.get("/ready")).status_code == 200
            await drop_database(pg_server_dsn, name)  # terminates the pool's connections
            r = await c.post("/graphql", json={"query": Q})
            assert r.status_code == 200
            err = r.json()["errors"][0]
            assert err["extensions"]["code"] == "BACKEND_UNAVAILABLE"
            assert "native store unavailable" in err["message"]
            assert "Traceback" not in r.text and "SELECT" not in r.text
            ready = await c.get("/ready")
            assert ready.status_code == 503
    finally:
        await backend.close()
