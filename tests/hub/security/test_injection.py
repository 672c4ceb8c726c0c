"""SQL injection through every string filter of DataCollectionFilter, at the hub over two sites that
enforce the access rule: never a 5xx, never SQL or a traceback, never a record the caller may not see."""

from __future__ import annotations

import re

import pytest
from graphql import GraphQLList, GraphQLNonNull, get_named_type

from mx_hub.sdl import hub_schema
from tests.hub.security.conftest import hub_with

PAYLOADS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "x'; DROP TABLE data_collection; --",
    "' UNION SELECT login, login FROM person --",
    "\\' OR 1=1 #",
    '" OR ""="',
    "%' OR proposal_id IS NOT NULL OR '%'='",
    "') OR ('a'='a",
    "1; SELECT pg_sleep(5)",
    "%",
    "_",
    "\\",
    "x\u0000y",
    "' AND extractvalue(1, concat(0x7e, version())) --",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 '",
    "a" * 5000,
]
LEAKS = re.compile(r"Traceback|File \"|asyncpg|asyncmy|syntax error|SELECT|postgresql://|127\.0\.0\.1", re.S)
QUERY = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 500) {
  totalCount edges { node { site localId } } } }"""


def string_filters() -> list[tuple[str, bool]]:
    """(field, is a list) for every String/ID field of the hub's DataCollectionFilter."""
    out = []
    for name, f in hub_schema().type_map["DataCollectionFilter"].fields.items():
        t = f.type.of_type if isinstance(f.type, GraphQLNonNull) else f.type
        if get_named_type(t).name in ("String", "ID"):
            out.append((name, isinstance(t, GraphQLList)))
    return out


def test_every_string_filter_is_covered():
    names = {n for n, _ in string_filters()}
    assert {
        "sampleName",
        "sampleBarcode",
        "crystalUuid",
        "proteinAcronym",
        "proteinName",
        "uniprotId",
        "proposal",
        "visit",
        "beamline",
        "experimentType",
        "spaceGroup",
        "site",
        "sites",
    } <= names


@pytest.fixture
async def anonymous_hub(hub_dsn, secured_sites):
    with hub_with(hub_dsn, rate_limit=0) as hub:
        for name, url in secured_sites.items():
            assert "errors" not in await hub.register(name, url)
        visible = set()
        after = None
        while True:  # everything an anonymous caller may see: the bound for every injected answer
            body = await hub.query(
                "query($a: String) { dataCollections(first: 500, after: $a) { pageInfo { "
                "hasNextPage endCursor } edges { node { site localId } } } }",
                {"a": after},
            )
            conn = body["data"]["dataCollections"]
            visible |= {(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]}
            if not conn["pageInfo"]["hasNextPage"]:
                break
            after = conn["pageInfo"]["endCursor"]
        yield hub, visible
        await hub.http.aclose()


@pytest.mark.parametrize("field,is_list", string_filters())
async def test_injection_through_string_filter(anonymous_hub, field, is_list):
    hub, visible = anonymous_hub
    for payload in PAYLOADS:
        value = [payload] if is_list else payload
        r = await hub.http.post("/graphql", json={"query": QUERY, "variables": {"f": {field: value}}})
        assert r.status_code < 500, (field, payload, r.text[:500])
        assert not LEAKS.search(r.text.replace(payload, "")), (field, payload, r.text[:1000])
        body = r.json()
        for error in body.get("errors") or []:
            assert (
                error["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
                or "correlationId" in error["extensions"]
            )
        conn = (body.get("data") or {}).get("dataCollections")
        if conn is None:
            continue
        got = {(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]}
        assert got <= visible, (field, payload)  # never a record anonymous callers may not see
        # no record holds these strings (LIKE wildcards included): anything found means the value became SQL
        assert got == set() and conn["totalCount"] == 0, (field, payload, conn["totalCount"])
