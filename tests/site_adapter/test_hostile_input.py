"""Forged ids, malformed `_entities`, out-of-range times and odd characters get their codes at both
backends (issue 15, point 7): BAD_USER_INPUT, INVALID_ID or an empty answer, never INTERNAL_SERVER_ERROR."""

from __future__ import annotations

import base64

import httpx
import pytest

from site_adapter.app import create_app

ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { __typename } }"


def _id(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CASES = [
    (
        "huge local id",
        '{ node(id: "' + _id(b"DataCollection:esrf:99999999999999999999999") + '") { id } }',
        {},
        None,
    ),
    (
        "far-future startAfter",
        '{ dataCollections(filter: {startAfter: "9999-12-31T23:59:59-14:00"}) { totalCount } }',
        {},
        None,
    ),
    (
        "far-past startBefore",
        '{ dataCollections(filter: {startBefore: "0001-01-01T00:00:00+14:00"}) { totalCount } }',
        {},
        None,
    ),
    ("entity without id", ENTITIES, {"r": [{"__typename": "Sample"}]}, "BAD_USER_INPUT"),
    ("unknown entity type", ENTITIES, {"r": [{"__typename": "Nope", "id": "x"}]}, "BAD_USER_INPUT"),
    ("entity not an object", ENTITIES, {"r": ["str"]}, "BAD_USER_INPUT"),
    ("entity id a number", ENTITIES, {"r": [{"__typename": "Sample", "id": 5}]}, "BAD_USER_INPUT"),
    (
        "non-Latin-1 equality filter",
        '{ dataCollections(filter: {sampleName: "\u4e2d\u6587\U0001f9ea"}) { totalCount } }',
        {},
        None,
    ),
    (
        "non-Latin-1 substring filter",
        '{ dataCollections(filter: {proteinName: "\u4e2d\u6587\U0001f9ea"}) { totalCount } }',
        {},
        None,
    ),
]


@pytest.fixture(params=["native", "ispyb"])
async def post(request, esrf_backend, ispyb):
    backend = esrf_backend if request.param == "native" else ispyb
    site = "esrf" if request.param == "native" else "dls"
    app = create_app(backend, site=site, manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://site.test"
    ) as client:

        async def call(query: str, variables: dict) -> dict:
            query = query.replace(_id(b"DataCollection:esrf:"), _id(f"DataCollection:{site}:".encode()))
            r = await client.post("/graphql", json={"query": query, "variables": variables})
            assert r.status_code < 500, r.text
            return r.json()

        yield call


@pytest.mark.parametrize("label, query, variables, code", CASES, ids=[c[0] for c in CASES])
async def test_hostile_input_gets_a_code_not_an_internal_error(post, label, query, variables, code) -> None:
    body = await post(query, variables)
    codes = [e["extensions"]["code"] for e in body.get("errors", [])]
    assert "INTERNAL_SERVER_ERROR" not in codes, (label, body)
    if (
        label == "huge local id"
    ):  # no such record: null, with INVALID_ID where the store's ids cannot be that big
        assert codes in ([], ["INVALID_ID"]) and body["data"]["node"] is None, (label, body)
    elif code is None:
        assert codes == [], (label, body)
    else:
        assert codes == [code], (label, body)
