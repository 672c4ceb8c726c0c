"""Honest counts through the hub (issue 17): the hub's totalCount is the sum of the sites' counts, and
its totalCountKind is ESTIMATE when any site estimated its part; a site of 1.1 (no totalCountKind) is
not asked for it and counts exactly. Real sites on loopback over real PostgreSQL; expected values come
from the sites themselves (asked directly) and from SQL."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any

import asyncpg
import httpx
from graphql import parse

from mx_hub.merge import SitePage, merged_count
from mx_hub.plan import plan_connection
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.sites import serve_in_thread

COUNT = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 3) {
  totalCount totalCountKind edges { node { id } } } }"""


def test_merged_count_is_an_estimate_when_any_part_is():
    exact = SitePage("a", [], False, 7)
    assert merged_count([exact, SitePage("b", [], False, 5)]) == (12, "EXACT")
    assert merged_count([exact, SitePage("b", [], True, 500, False)]) == (507, "ESTIMATE")
    assert merged_count([]) == (0, "EXACT")


def test_sites_are_asked_for_the_kind_only_when_they_serve_it():
    doc = parse("query { dataCollections(first: 2) { totalCount totalCountKind edges { node { id } } } }")
    op = doc.definitions[0]
    field = op.selection_set.selections[0]
    args: tuple[Any, ...] = ("dataCollections", "DataCollectionFilter", [field], {}, op, {}, None, 2, None)
    assert "totalCountKind" in plan_connection(*args, count_kind=True).text
    assert "totalCountKind" not in plan_connection(*args, count_kind=False).text


async def _site_count(url: str, f: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as c:
        r = await c.post("/graphql", json={"query": COUNT, "variables": {"f": f}})
        return r.json()["data"]["dataCollections"]


async def test_the_hub_sums_counts_and_keeps_the_estimate_flag(quiet_hub, esrf_demo_dsn, diamond_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:  # a visit of the esrf store: diamond has none of it, so both count it exactly
        visit, in_visit = await conn.fetchrow(
            "SELECT se.visit, count(*) FROM data_collection dc JOIN session se ON se.id = dc.session_id"
            " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
        )
    finally:
        await conn.close()
    with ExitStack() as stack:
        esrf = stack.enter_context(
            serve_in_thread(
                create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf")
            )
        )
        capped = NativeBackend(diamond_demo_dsn, min_size=1, max_size=2, exact_count_limit=10)
        diamond = stack.enter_context(serve_in_thread(create_site_app(capped, site="diamond")))
        assert "errors" not in await quiet_hub.register("esrf", esrf)
        assert "errors" not in await quiet_hub.register("diamond", diamond)

        broad = {"resolutionBetterThan": 2.5}
        parts = [await _site_count(esrf, broad), await _site_count(diamond, broad)]
        assert [p["totalCountKind"] for p in parts] == ["EXACT", "ESTIMATE"]
        assert parts[1]["totalCount"] > 10  # never below the matches the capped site counted
        body = await quiet_hub.query(COUNT, {"f": broad})
        assert "errors" not in body, body
        hub = body["data"]["dataCollections"]
        assert hub["totalCount"] == sum(p["totalCount"] for p in parts)
        assert hub["totalCountKind"] == "ESTIMATE"

        narrow = {"visit": visit}
        body = await quiet_hub.query(COUNT, {"f": narrow})
        assert body["data"]["dataCollections"]["totalCount"] == in_visit > 0
        assert body["data"]["dataCollections"]["totalCountKind"] == "EXACT"


async def test_a_site_of_1_1_is_not_asked_for_the_kind(quiet_hub, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        want = await conn.fetchval(
            "SELECT count(*) FROM data_collection dc JOIN sample s ON s.id = dc.sample_id"
            " JOIN protein p ON p.id = s.protein_id WHERE p.acronym = 'TLN'"
        )
    finally:
        await conn.close()
    old = create_site_app(
        NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="old", schema_version="1.1"
    )
    with serve_in_thread(old) as url:
        assert "errors" not in await quiet_hub.register("old", url)
        body = await quiet_hub.query(COUNT, {"f": {"proteinAcronym": "TLN"}})
    assert "errors" not in body, body
    assert body["data"]["dataCollections"]["totalCount"] == want > 0
    assert body["data"]["dataCollections"]["totalCountKind"] == "EXACT"
