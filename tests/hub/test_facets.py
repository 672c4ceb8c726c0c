"""dataCollectionFacets through the hub (since 1.2.0, docs/facets.md) over three sites: two native demo
stores and Diamond's ISPyB fixture. The hub's counts are the sums of SQL GROUP BYs on each site's own
database (written here, in each store's own terms); a site's estimate, or a value a site may have left
out of its list, makes the sum an ESTIMATE; the `site` filter narrows the sites; a 1.1 site is left
out with a named warning; bad arguments are errors with a code. Merging is also tested without a network.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import asyncpg
import pytest

from mx_hub.facets import merge_facets
from site_adapter.access import AccessPolicy
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.contract import mixed_federation
from tests.fixtures.hub import HUB_KEY, serve_hub
from tests.fixtures.mariadb import connect_kwargs
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import demo_database, serve_in_thread

FACETS = """query($f: DataCollectionFilter, $fields: [FacetField!]!, $first: Int) {
  dataCollectionFacets(filter: $f, fields: $fields, first: $first) { field values { value count countKind } } }"""
FIELDS = ["BEAMLINE", "PROTEIN"]

NATIVE = {
    "BEAMLINE": "SELECT dc.beamline AS v, count(*) AS n FROM data_collection dc GROUP BY 1",
    "PROTEIN": "SELECT p.acronym AS v, count(*) AS n FROM data_collection dc LEFT JOIN sample s"
    " ON s.id = dc.sample_id LEFT JOIN protein p ON p.id = s.protein_id GROUP BY 1",
}
ISPYB = {
    "BEAMLINE": "SELECT s.beamLineName AS v, COUNT(*) AS n FROM DataCollection dc JOIN DataCollectionGroup g"
    " ON g.dataCollectionGroupId = dc.dataCollectionGroupId LEFT JOIN BLSession s ON s.sessionId = g.sessionId"
    " GROUP BY 1",
    "PROTEIN": "SELECT CAST(p.acronym AS BINARY) AS v, COUNT(*) AS n FROM DataCollection dc"
    " JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId"
    " LEFT JOIN BLSample b ON b.blSampleId = COALESCE(g.blSampleId, dc.BLSAMPLEID)"
    " LEFT JOIN Crystal c ON c.crystalId = b.crystalId LEFT JOIN Protein p ON p.proteinId = c.proteinId GROUP BY 1",
}


def ordered(counts: Counter[str | None], first: int) -> list[tuple[str | None, int]]:
    """docs/facets.md's order, written for the test: count descending, value by code point, null last."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, [ord(c) for c in kv[0] or ""]))
    return items[:first]


async def native_oracle(dsn: str) -> dict[str, Counter[str | None]]:
    conn = await asyncpg.connect(dsn)
    try:
        return {f: Counter({r["v"]: int(r["n"]) for r in await conn.fetch(sql)}) for f, sql in NATIVE.items()}
    finally:
        await conn.close()


async def ispyb_oracle(dsn: str) -> dict[str, Counter[str | None]]:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    out: dict[str, Counter[str | None]] = {}
    try:
        for f, sql in ISPYB.items():
            async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
                await cur.execute(sql)
                rows = await cur.fetchall()
            out[f] = Counter(
                {(r["v"].decode() if isinstance(r["v"], bytes) else r["v"]): int(r["n"]) for r in rows}
            )
        return out
    finally:
        conn.close()


@pytest.fixture(scope="module")
async def federation(pg_server_dsn, native_template, ispyb_dsn):
    async with mixed_federation(pg_server_dsn, native_template, ispyb_dsn, {"alpha": 40, "beta": 25}) as (
        hub,
        dsns,
        urls,
    ):
        oracles: dict[str, dict[str, Counter[str | None]]] = {
            site: await (ispyb_oracle(dsn) if site == "dls" else native_oracle(dsn))
            for site, dsn in dsns.items()
        }
        yield hub, oracles, urls


def _answer(body: dict[str, Any]) -> dict[str, list[tuple[str | None, int]]]:
    assert "errors" not in body, body
    return {
        f["field"]: [(v["value"], v["count"]) for v in f["values"]]
        for f in body["data"]["dataCollectionFacets"]
    }


@pytest.mark.parametrize("first", [10, 3])
async def test_the_hub_sums_the_sites_sql_counts(federation, first):
    hub, oracles, _ = federation
    body = await hub.query(FACETS, {"fields": FIELDS, "first": first}, admin=True)
    want = {f: ordered(sum((o[f] for o in oracles.values()), Counter()), first) for f in FIELDS}
    assert _answer(body) == want
    assert all(want[f] for f in FIELDS)
    assert {v["countKind"] for f in body["data"]["dataCollectionFacets"] for v in f["values"]} == {"EXACT"}
    # values several sites hold are summed: the demo's proteins are at both native sites
    assert any(oracles["alpha"]["PROTEIN"][v] and oracles["beta"]["PROTEIN"][v] for v, _ in want["PROTEIN"])


async def test_the_site_filter_narrows_the_sites(federation):
    hub, oracles, _ = federation
    body = await hub.query(FACETS, {"f": {"sites": ["alpha", "dls"]}, "fields": ["BEAMLINE"]}, admin=True)
    want = ordered(oracles["alpha"]["BEAMLINE"] + oracles["dls"]["BEAMLINE"], 10)
    assert _answer(body) == {"BEAMLINE": want}


async def test_bad_arguments_are_errors_with_a_code(federation):
    hub, _, _ = federation
    for variables, code in [
        ({"fields": ["BEAMLINE"], "first": -1}, "BAD_USER_INPUT"),
        ({"fields": ["COLOUR"]}, "GRAPHQL_VALIDATION_FAILED"),
        ({"fields": ["BEAMLINE"], "f": {"site": "nowhere"}}, "BAD_USER_INPUT"),
    ]:
        body = await hub.query(FACETS, variables)
        assert body["errors"][0]["extensions"]["code"] == code, (variables, body)


async def test_a_1_1_site_is_left_out_with_a_named_warning(pg_server_dsn, native_template, federation):
    _, oracles, urls = federation
    name, dsn = await demo_database(pg_server_dsn, native_template, "old", 10)
    hub_name = f"mxhub_hub_{uuid.uuid4().hex[:10]}"
    hub_dsn = await create_database(pg_server_dsn, hub_name)
    old_app = create_site_app(
        NativeBackend(dsn, min_size=1, max_size=2),
        site="old",
        access_policy=AccessPolicy(trusted_keys=[HUB_KEY.public_key()]),
        schema_version="1.1",
    )
    try:
        with serve_in_thread(old_app) as old_url, serve_hub(hub_dsn) as hub:
            for site, url in (("alpha", urls["alpha"]), ("old", old_url)):
                assert "errors" not in await hub.register(site, url)
            body = await hub.query(FACETS, {"fields": ["BEAMLINE"]}, admin=True)
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_name)
        await drop_database(pg_server_dsn, name)
    excluded = [w for w in body["extensions"]["warnings"] if w["code"] == "SITE_EXCLUDED"]
    assert [w["site"] for w in excluded] == ["old"]
    assert excluded[0]["fields"] == ["Query.dataCollectionFacets"]
    assert _answer(body) == {"BEAMLINE": ordered(oracles["alpha"]["BEAMLINE"], 10)}


def _site(field: str, *values: tuple[str | None, int, str]) -> list[dict[str, Any]]:
    return [{"field": field, "values": [{"value": v, "count": n, "countKind": k} for v, n, k in values]}]


def test_merge_sums_orders_and_flags():
    parts = {
        "a": _site("BEAMLINE", ("i04", 5, "EXACT"), ("i03", 2, "EXACT")),
        "b": _site("BEAMLINE", ("i03", 3, "ESTIMATE"), (None, 5, "EXACT")),
    }
    (merged,) = merge_facets(parts, ["BEAMLINE"], 10, site_first=100)
    assert merged["values"] == [
        {"value": "i03", "count": 5, "countKind": "ESTIMATE"},  # b estimated its part
        {"value": "i04", "count": 5, "countKind": "EXACT"},  # a equal count: by value, null last
        {"value": None, "count": 5, "countKind": "EXACT"},
    ]
    (top,) = merge_facets(parts, ["BEAMLINE"], 1, site_first=100)
    assert [v["value"] for v in top["values"]] == ["i03"]


def test_a_value_a_full_list_may_lack_is_an_estimate():
    # site b listed as many values as it was asked for: it may hold i04 too, below the ones it listed
    parts = {
        "a": _site("PROTEIN", ("TLN", 9, "EXACT"), ("HEWL", 1, "EXACT")),
        "b": _site("PROTEIN", ("TLN", 4, "EXACT"), ("THAU", 3, "EXACT")),
    }
    (merged,) = merge_facets(parts, ["PROTEIN"], 10, site_first=2)
    kinds = {v["value"]: v["countKind"] for v in merged["values"]}
    assert kinds == {"TLN": "EXACT", "THAU": "ESTIMATE", "HEWL": "ESTIMATE"}
