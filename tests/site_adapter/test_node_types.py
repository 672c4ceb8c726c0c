"""`node(id)` answers every type that implements Node in the SDL (issue 13: ProcessingResult ids were
refused), at a native site, at an ISPyB site, and (tests/hub/test_federation.py) through the hub."""

from __future__ import annotations

import httpx

from site_adapter.access import AccessPolicy
from site_adapter.app import create_app
from tests.fixtures.nodes import NODE, Post, check_every_node_type


def poster(client: httpx.AsyncClient) -> Post:
    async def post(query: str, variables: dict) -> dict:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code < 500, response.text
        return response.json()

    return post


async def test_every_node_type_at_a_native_site(esrf_gql):
    await check_every_node_type(lambda q, v: esrf_gql(q, v), {"experimentType": "OSC"})


async def test_every_node_type_at_an_ispyb_site(ispyb):
    app = create_app(ispyb, site="dls", manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:
        post = poster(client)
        found = await check_every_node_type(post, {})
        # a processing result id that names no result (or a malformed one) is null, not an error
        from mx_schema.ids import encode_id

        for local in ("999999999", "abc"):
            body = await post(NODE, {"id": encode_id("dls", "ProcessingResult", local)})
            assert body["data"]["node"] is None and "errors" not in body, body
        assert found["ProcessingResult"]["id"]


async def test_a_processing_result_is_as_visible_as_its_collection(esrf_backend, esrf_gql):
    """Anonymous callers see a result of a public collection, and nothing of an embargoed one."""
    q = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 20) { edges { node {
             processing { id } } } } }"""

    async def a_result(flt: dict) -> str:
        body = await esrf_gql(q, {"f": {"experimentType": "OSC", **flt}})
        return next(
            p["id"] for e in body["data"]["dataCollections"]["edges"] for p in e["node"]["processing"]
        )

    public_id = await a_result({"startBefore": "2020-01-01T00:00:00"})  # sessions ended over 3 years ago
    recent_id = await a_result({"startAfter": "2024-06-01T00:00:00"})  # still under embargo
    secured = create_app(
        esrf_backend, site="esrf", manage_backend=False, access_policy=AccessPolicy(trusted_keys=[])
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=secured), base_url="http://esrf.test"
    ) as client:
        post = poster(client)
        assert (await post(NODE, {"id": public_id}))["data"]["node"]["id"] == public_id
        assert (await post(NODE, {"id": recent_id}))["data"]["node"] is None
