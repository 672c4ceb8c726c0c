"""Honest counts at a native site (issue 17): totalCount is EXACT and equals SQL's count(*) for every
CONTRACT.md filter on the demo store; past the exact-count cap, the cost allowed or a time budget it is
an ESTIMATE and says so, never below the matches counted, and the page itself does not change.

Expected counts are SQL written here against the store's tables (joins through sample and session, not
the denormalised filter columns the backend reads), never the backend's own statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest

from site_adapter.app import create_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.sites import GraphQLClient

COUNT = """query($f: DataCollectionFilter, $first: Int) { dataCollections(filter: $f, first: $first) {
  totalCount totalCountKind edges { node { localId } } } }"""

FROM = """FROM data_collection dc
  LEFT JOIN sample s ON s.id = dc.sample_id
  LEFT JOIN crystal c ON c.id = s.crystal_id
  LEFT JOIN protein p ON p.id = s.protein_id
  LEFT JOIN session se ON se.id = dc.session_id
  LEFT JOIN proposal po ON po.id = se.proposal_id"""

MIDDLE = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)


async def _values(conn: asyncpg.Connection) -> dict[str, Any]:
    """A common value of each filtered column (so each filter matches something), read by SQL."""

    async def common(expr: str) -> Any:
        return await conn.fetchval(
            f"SELECT {expr} {FROM} WHERE {expr} IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
        )

    return {
        "sample": await common("s.name"),
        "barcode": await common("s.barcode"),
        "uuid": await common("c.uuid"),
        "proposal": await common("po.code"),
        "visit": await common("se.visit"),
        "beamline": await common("dc.beamline"),
        "type": await common("dc.experiment_type"),
    }


# (filter, SQL condition over FROM, its arguments) for each CONTRACT.md term and some combinations.
def _cases(v: dict[str, Any]) -> list[tuple[dict[str, Any], str, list[Any]]]:
    return [
        ({"sampleName": v["sample"]}, "s.name = $1", [v["sample"]]),
        ({"sampleBarcode": v["barcode"]}, "s.barcode = $1", [v["barcode"]]),
        ({"crystalUuid": v["uuid"]}, "c.uuid = $1", [v["uuid"]]),
        ({"proteinAcronym": "TLN"}, "p.acronym = $1", ["TLN"]),
        ({"proteinName": "THAUM"}, "lower(p.name) LIKE $1", ["%thaum%"]),
        ({"uniprotId": "P00698"}, "$1 = ANY(p.uniprot_ids)", ["P00698"]),
        ({"proposal": v["proposal"]}, "po.code = $1", [v["proposal"]]),
        ({"visit": v["visit"]}, "se.visit = $1", [v["visit"]]),
        ({"beamline": v["beamline"]}, "dc.beamline = $1", [v["beamline"]]),
        ({"experimentType": v["type"]}, "dc.experiment_type = $1", [v["type"]]),
        ({"startAfter": MIDDLE.isoformat()}, "dc.start_time >= $1", [MIDDLE]),
        ({"startBefore": MIDDLE.isoformat()}, "dc.start_time < $1", [MIDDLE]),
        ({"resolutionBetterThan": 1.6}, "dc.best_resolution <= $1", [1.6]),
        ({"spaceGroup": "P6122"}, "replace(upper(dc.best_space_group), ' ', '') = $1", ["P6122"]),
        (
            {"proteinAcronym": "TLN", "resolutionBetterThan": 1.6},
            "p.acronym = $1 AND dc.best_resolution <= $2",
            ["TLN", 1.6],
        ),
        (
            {"beamline": v["beamline"], "experimentType": v["type"], "startAfter": MIDDLE.isoformat()},
            "dc.beamline = $1 AND dc.experiment_type = $2 AND dc.start_time >= $3",
            [v["beamline"], v["type"], MIDDLE],
        ),
        ({}, "TRUE", []),
    ]


@pytest.fixture(scope="module")
async def cases(esrf_demo_dsn) -> list[tuple[dict[str, Any], int]]:
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        out = []
        for f, cond, args in _cases(await _values(conn)):
            out.append((f, await conn.fetchval(f"SELECT count(*) {FROM} WHERE {cond}", *args)))
        return out
    finally:
        await conn.close()


@asynccontextmanager
async def _site(backend: NativeBackend) -> AsyncIterator[GraphQLClient]:
    """The site over `backend`, in-process over ASGI, its backend started and closed with it."""
    app = create_app(backend, site="esrf")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://esrf.test"
        ) as c:
            yield GraphQLClient(c)


async def test_every_contract_filter_counts_exactly(esrf_gql, cases):
    for f, want in cases:
        body = await esrf_gql(COUNT, {"f": f, "first": 0})
        assert "errors" not in body, (f, body)
        conn = body["data"]["dataCollections"]
        assert (conn["totalCount"], conn["totalCountKind"]) == (want, "EXACT"), f
        assert want > 0, f  # each case matches something, so a count of 0 could not pass by accident


@pytest.mark.parametrize(
    "root,table",
    [("samples", "sample"), ("proteins", "protein"), ("sessions", "session"), ("proposals", "proposal")],
)
async def test_other_connections_count_exactly(esrf_gql, esrf_demo_dsn, root, table):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        want = await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()
    body = await esrf_gql(f"{{ {root}(first: 1) {{ totalCount totalCountKind }} }}")
    assert body["data"][root] == {"totalCount": want, "totalCountKind": "EXACT"}


async def test_past_the_cap_the_count_is_an_estimate_and_says_so(esrf_demo_dsn, cases, esrf_gql):
    limit = 10
    async with _site(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2, exact_count_limit=limit)) as site:
        for f, want in cases:
            body = await site(COUNT, {"f": f, "first": 5})
            assert "errors" not in body, (f, body)
            conn = body["data"]["dataCollections"]
            full = (await esrf_gql(COUNT, {"f": f, "first": 5}))["data"]["dataCollections"]
            assert conn["edges"] == full["edges"], f  # the page does not depend on how it is counted
            if want <= limit:
                assert (conn["totalCount"], conn["totalCountKind"]) == (want, "EXACT"), f
            else:
                assert conn["totalCountKind"] == "ESTIMATE", f
                assert conn["totalCount"] > limit, f  # never below the matches counted
        body = await site("{ samples(first: 1) { totalCount totalCountKind } }")
        assert body["data"]["samples"]["totalCountKind"] == "ESTIMATE"


async def test_a_count_too_costly_to_make_is_an_estimate(esrf_demo_dsn, cases, esrf_gql):
    # Every plan costs more than nothing: with no cost allowed, every count is the planner's estimate.
    async with _site(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2, count_max_cost=0)) as site:
        for f, _want in cases:
            body = await site(COUNT, {"f": f, "first": 5})
            assert "errors" not in body, (f, body)
            conn = body["data"]["dataCollections"]
            assert conn["totalCountKind"] == "ESTIMATE", f
            assert conn["totalCount"] >= 0
            full = (await esrf_gql(COUNT, {"f": f, "first": 5}))["data"]["dataCollections"]
            assert conn["edges"] == full["edges"], f


async def test_a_count_past_its_time_budget_is_an_estimate(esrf_demo_dsn, cases):
    # A budget no statement can meet: every count is cancelled and estimated, and the pool stays usable.
    backend = NativeBackend(esrf_demo_dsn, min_size=1, max_size=1, count_budget=1e-9)
    async with _site(backend) as site:
        for f, want in cases[:3]:
            body = await site(COUNT, {"f": f, "first": 2})
            assert "errors" not in body, (f, body)
            conn = body["data"]["dataCollections"]
            assert conn["totalCountKind"] == "ESTIMATE", f
            assert conn["totalCount"] >= 0
            assert len(conn["edges"]) == min(2, want)
        body = await site("{ dataCollections(first: 3) { edges { node { localId } } } }")
        assert len(body["data"]["dataCollections"]["edges"]) == 3  # no count asked: no budget involved


async def test_bad_limits_are_refused(esrf_demo_dsn):
    with pytest.raises(ValueError):
        NativeBackend(esrf_demo_dsn, exact_count_limit=-1)
    with pytest.raises(ValueError):
        NativeBackend(esrf_demo_dsn, count_budget=0)
    with pytest.raises(ValueError):
        NativeBackend(esrf_demo_dsn, count_max_cost=-1)
