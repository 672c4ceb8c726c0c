"""Bad input on every implementation: a GraphQL error with a code, never an HTTP 500 (DESIGN.md, "Bad input
gets a clear error and loses nothing"): bad cursors, page sizes out of bounds, malformed queries."""

from __future__ import annotations

import pytest

from tests.contract.walk import PAGE, codes
from tests.fixtures.contract import ADMIN, expected

BAD_CURSORS = ["garbage", "YzE6WyJkYXRhQ29sbGVjdGlvbnMiLDEsMl0", "aDE6e30", "x" * 5000]


@pytest.mark.parametrize("cursor", BAD_CURSORS, ids=["text", "wrong-types", "empty-hub-cursor", "huge"])
async def test_a_bad_cursor_is_invalid_cursor(impl, cursor):
    body = await impl.query(PAGE, {"f": None, "first": 3, "after": cursor}, ADMIN)
    assert body.get("data") is None or body["data"].get("dataCollections") is None, body
    assert codes(body) == ["INVALID_CURSOR"], body


async def test_a_page_size_over_the_limit_is_capped_with_a_warning(impl):
    """docs/security.md: `first` ≤ 500, capped with a warning (PAGE_SIZE_LIMIT), not refused."""
    body = await impl.query(PAGE, {"f": None, "first": 501}, ADMIN)
    assert "errors" not in body, body
    conn = body["data"]["dataCollections"]
    assert len(conn["edges"]) == min(500, len(expected(impl.facts, ADMIN)))
    warnings = (body.get("extensions") or {}).get("warnings") or []
    assert "PAGE_SIZE_LIMIT" in [w.get("code") for w in warnings], body.get("extensions")


async def test_a_negative_page_size_is_refused_with_a_code(impl):
    body = await impl.query(PAGE, {"f": None, "first": -1}, ADMIN)
    assert body.get("data") is None or body["data"].get("dataCollections") is None, body
    assert codes(body) == ["BAD_USER_INPUT"], body


async def test_more_records_than_an_operation_may_ask_is_refused_with_a_code(impl):
    """docs/security.md: at most 5,000 records asked per operation (`first` summed over connections)."""
    query = (
        "{ a: dataCollections(first: 500) { totalCount } "
        + " ".join(f"x{i}: dataCollections(first: 500) {{ totalCount }}" for i in range(10))
        + " }"
    )
    body = await impl.query(query, None, ADMIN)
    assert body.get("data") is None, body
    assert codes(body) and all(isinstance(c, str) and c for c in codes(body)), body


@pytest.mark.parametrize(
    "query",
    [
        "{ dataCollections(first: 1) { edges { node { id } }",  # unbalanced
        "{ dataCollections(first: 1) { edges { node { noSuchField } } } }",
        '{ dataCollections(first: "one") { totalCount } }',
        "query($f: DataCollectionFilter) { dataCollections(filter: $f) { totalCount } }",  # $f wrong below
        "",
    ],
    ids=["syntax", "unknown-field", "wrong-type", "bad-variable", "empty"],
)
async def test_a_malformed_query_is_a_coded_graphql_error(impl, query):
    variables = {"f": {"noSuchFilter": 1}} if "$f" in query else None
    response = await impl.post({"query": query, "variables": variables}, ADMIN)
    assert response.status_code < 500, response.text
    body = response.json()
    assert body.get("data") is None, body
    assert body["errors"] and all(isinstance(c, str) and c for c in codes(body)), body


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'{"query": 5}'], ids=["not-json", "array", "number"])
async def test_a_malformed_request_body_is_a_4xx_with_a_code(impl, body):
    response = await impl.http.post(
        f"{impl.url}/graphql", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    found = codes(response.json())
    assert found and all(isinstance(c, str) and c for c in found), response.text
