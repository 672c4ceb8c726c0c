"""dataCollectionFacets at a native site (since 1.2.0, docs/facets.md): within the count budget every
value's count is EXACT and equals SQL's GROUP BY over the same filter; past it (a tiny cap, or no cost
allowed) every value says ESTIMATE; bad arguments are GraphQL errors with a code.

Expected counts are SQL written here (joins through sample, protein and session, not the backend's
statements), grouped and ordered by the rule of docs/facets.md written here."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.sites import GraphQLClient

FACETS = """query($f: DataCollectionFilter, $fields: [FacetField!]!, $first: Int) {
  dataCollectionFacets(filter: $f, fields: $fields, first: $first) { field values { value count countKind } } }"""

FROM = """FROM data_collection dc
  LEFT JOIN sample s ON s.id = dc.sample_id
  LEFT JOIN protein p ON p.id = s.protein_id
  LEFT JOIN session se ON se.id = dc.session_id"""
COLUMNS = {
    "BEAMLINE": "dc.beamline",
    "EXPERIMENT_TYPE": "dc.experiment_type",
    "SPACE_GROUP": "replace(upper(dc.best_space_group), ' ', '')",
    "PROTEIN": "p.acronym",
}
FIELDS = list(COLUMNS)


def ordered(counts: dict[str | None, int], first: int) -> list[tuple[str | None, int]]:
    """docs/facets.md's order, written for the test: count descending, value by code point, null last."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, [ord(c) for c in kv[0] or ""]))
    return items[:first]


async def oracle(dsn: str, cond: str, args: list[Any], first: int) -> dict[str, list[tuple[str | None, int]]]:
    conn = await asyncpg.connect(dsn)
    try:
        out = {}
        for name, expr in COLUMNS.items():
            rows = await conn.fetch(
                f"SELECT {expr} AS v, count(*) AS n {FROM} WHERE {cond} GROUP BY 1", *args
            )
            out[name] = ordered({r["v"]: r["n"] for r in rows}, first)
        return out
    finally:
        await conn.close()


CASES: list[tuple[dict[str, Any], str, list[Any]]] = [
    ({}, "TRUE", []),
    ({"proteinAcronym": "TLN"}, "p.acronym = $1", ["TLN"]),
    ({"resolutionBetterThan": 1.6}, "dc.best_resolution <= $1", [1.6]),
    ({"spaceGroup": "P 61 2 2"}, "replace(upper(dc.best_space_group), ' ', '') = $1", ["P6122"]),
    ({"proteinAcronym": "no such protein"}, "p.acronym = $1", ["no such protein"]),
]


@asynccontextmanager
async def _site(backend: NativeBackend) -> AsyncIterator[GraphQLClient]:
    app = create_app(backend, site="esrf")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://esrf.test"
        ) as c:
            yield GraphQLClient(c)


def _answer(body: dict[str, Any]) -> dict[str, list[tuple[str | None, int]]]:
    assert "errors" not in body, body
    return {
        f["field"]: [(v["value"], v["count"]) for v in f["values"]]
        for f in body["data"]["dataCollectionFacets"]
    }


def _kinds(body: dict[str, Any]) -> set[str]:
    return {v["countKind"] for f in body["data"]["dataCollectionFacets"] for v in f["values"]}


@pytest.mark.parametrize("case", range(len(CASES)))
async def test_facets_equal_sql_group_by(esrf_gql, esrf_demo_dsn, case):
    f, cond, args = CASES[case]
    for first in (10, 2):
        want = await oracle(esrf_demo_dsn, cond, args, first)
        body = await esrf_gql(FACETS, {"f": f, "fields": FIELDS, "first": first})
        assert _answer(body) == want, (f, first)
        assert _kinds(body) <= {"EXACT"}
    if f == {}:
        assert all(want[name] for name in FIELDS)  # the unfiltered store has values of every field


async def test_fields_come_in_the_order_asked_once_each(esrf_gql):
    body = await esrf_gql(FACETS, {"fields": ["PROTEIN", "BEAMLINE", "PROTEIN"], "first": 0})
    assert [f["field"] for f in body["data"]["dataCollectionFacets"]] == ["PROTEIN", "BEAMLINE"]
    assert all(f["values"] == [] for f in body["data"]["dataCollectionFacets"])


async def test_past_the_cap_the_counts_are_estimates_and_say_so(esrf_demo_dsn, monkeypatch):
    # The demo store is smaller than a sample: sampled with a sample of 50 rows, as a 1M store is with
    # 10,000 (the block sample of docs/facets.md).
    from site_adapter.backends.native import facets

    monkeypatch.setattr(facets, "SAMPLE_ROWS", 50)
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        total = await conn.fetchval("SELECT count(*) FROM data_collection")
        await conn.execute("ANALYZE data_collection")
    finally:
        await conn.close()
    held = await oracle(esrf_demo_dsn, "TRUE", [], 10_000)
    for backend in (
        NativeBackend(esrf_demo_dsn, min_size=1, max_size=2, exact_count_limit=10),
        NativeBackend(esrf_demo_dsn, min_size=1, max_size=2, count_max_cost=0),
    ):
        async with _site(backend) as site:
            body = await site(FACETS, {"fields": FIELDS, "first": 100})
            answer = _answer(body)
            assert _kinds(body) == {"ESTIMATE"}
            for name in FIELDS:  # an estimate names only values the store holds, each at least once
                assert {v for v, _ in answer[name]} <= {v for v, _ in held[name]}
                assert all(n > 0 for _, n in answer[name])
            # every beamline value listed: the sample's shares scaled to the count's estimate (the
            # planner's, after ANALYZE), so they add up to about the store's size
            beamlines = sum(n for _, n in answer["BEAMLINE"])
            assert answer["BEAMLINE"] and abs(beamlines - total) <= total * 0.25, (beamlines, total)
            # a filter with no match is counted, within any cap: no values
            narrow = await site(FACETS, {"f": {"proteinAcronym": "no such protein"}, "fields": FIELDS})
            assert _answer(narrow) == dict.fromkeys(FIELDS, [])


async def test_a_store_smaller_than_a_sample_is_read_whole_and_exact(esrf_demo_dsn):
    # Too costly to count by the plan, but the whole table is no more than a sample: every row is read,
    # so the counts are exact and say so.
    want = await oracle(esrf_demo_dsn, "TRUE", [], 10)
    async with _site(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2, count_max_cost=0)) as site:
        body = await site(FACETS, {"fields": FIELDS})
    assert _answer(body) == want
    assert _kinds(body) == {"EXACT"}


@pytest.mark.parametrize(
    "variables,code",
    [
        ({"fields": ["BEAMLINE"], "first": -1}, "BAD_USER_INPUT"),
        ({"fields": ["BEAMLINE"], "first": 101}, "BAD_USER_INPUT"),
        ({"fields": ["COLOUR"]}, "GRAPHQL_VALIDATION_FAILED"),
        ({"fields": ["BEAMLINE"], "f": {"spaceGroup": 7}}, "GRAPHQL_VALIDATION_FAILED"),
    ],
)
async def test_bad_arguments_are_errors_with_a_code(esrf_gql, variables, code):
    body = await esrf_gql(FACETS, variables)
    assert body.get("data") is None or body["data"].get("dataCollectionFacets") is None
    assert body["errors"][0]["extensions"]["code"] == code, body


async def test_the_access_rule_applies_as_for_pages(esrf_demo_dsn, esrf_gql):
    # Anonymous under an embargo: each field's counts (every value listed) add up to the page's own
    # totalCount for the same caller and filter, which is below the store's: the rule did apply.
    from site_adapter.access import AccessPolicy, EmbargoPolicy
    from tests.fixtures.contract import embargo_years

    policy = AccessPolicy(trusted_keys=[], embargo=EmbargoPolicy(default_years=embargo_years()))
    app = create_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="esrf", access_policy=policy)
    count = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount totalCountKind } }"
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://esrf.test"
        ) as c:
            site = GraphQLClient(c)
            for f in ({}, {"proteinAcronym": "TLN"}):
                page = (await site(count, {"f": f}))["data"]["dataCollections"]
                everything = (await esrf_gql(count, {"f": f}))["data"]["dataCollections"]["totalCount"]
                assert page["totalCountKind"] == "EXACT"
                assert 0 < page["totalCount"] < everything, f
                body = await site(FACETS, {"f": f, "fields": FIELDS, "first": 100})
                for name, values in _answer(body).items():
                    assert sum(n for _, n in values) == page["totalCount"], (f, name)
