"""The PaNOSC search-api provider (issue 19, item 4) at a hub over THREE real sites: the search-api's
documented example queries (panosc-eu/search-api doc/dataset-example-queries.md, doc/query.md) in
their shapes, exact paging (skip/limit walked over the whole result), units converted, a failing
site named (X-Mxhub-Failed-Sites), malformed filters refused with 400. Expectations: SQL on the stores."""

from __future__ import annotations

import json
import threading
from contextlib import ExitStack

import asyncpg
import pytest

from mx_schema.ids import decode_id
from site_adapter.app import create_app as create_site_app
from site_adapter.backends.native import NativeBackend
from tests.fixtures.faulty import broken_site
from tests.fixtures.hub import serve_hub
from tests.fixtures.postgres import create_database, drop_database
from tests.fixtures.sites import demo_database, serve_in_thread

PANET_MX = "http://purl.org/pan-science/PaNET/PaNET01164"


@pytest.fixture(scope="module")
async def fed(pg_server_dsn, native_template, demo_sites, esrf_demo_dsn, diamond_demo_dsn):
    """A hub over esrf, diamond and maxiv (demo stores), with each store's DSN for SQL."""
    maxiv_db, maxiv_dsn = await demo_database(pg_server_dsn, native_template, "maxiv", 300)
    hub_db = "mxhub_panosc_hub"
    await drop_database(pg_server_dsn, hub_db)
    hub_dsn = await create_database(pg_server_dsn, hub_db)
    try:
        with ExitStack() as stack:
            urls = dict(demo_sites)
            urls["maxiv"] = stack.enter_context(
                serve_in_thread(
                    create_site_app(NativeBackend(maxiv_dsn, min_size=1, max_size=2), site="maxiv")
                )
            )
            hub = stack.enter_context(serve_hub(hub_dsn))
            for site, url in urls.items():
                assert "errors" not in await hub.register(site, url)
            yield hub, {"esrf": esrf_demo_dsn, "diamond": diamond_demo_dsn, "maxiv": maxiv_dsn}
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_db)
        await drop_database(pg_server_dsn, maxiv_db)


async def sql(dsns: dict[str, str], query: str, *args) -> set[tuple]:
    """(site, *row) for every row of `query` at every store."""
    out: set[tuple] = set()
    for site, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            out |= {(site, *tuple(r)) for r in await conn.fetch(query, *args)}
        finally:
            await conn.close()
    return out


async def get(hub, path: str, flt: dict | None = None, **params):
    if flt is not None:
        params["filter"] = json.dumps(flt)
    return await hub.http.get(path, params=params)


async def walk(hub, flt: dict, size: int) -> list[dict]:
    """Every dataset of `flt`, page by page with skip/limit: the pages must not overlap or skip."""
    out: list[dict] = []
    while True:
        resp = await get(hub, "/panosc/Datasets", {**flt, "limit": size, "skip": len(out)})
        assert resp.status_code == 200, resp.text
        assert "x-mxhub-failed-sites" not in resp.headers
        page = resp.json()
        out.extend(page)
        if len(page) < size:
            return out


def keys(datasets: list[dict]) -> list[tuple[str, str]]:
    return [(decode_id(d["pid"]).site, decode_id(d["pid"]).local_id) for d in datasets]


async def test_wavelength_in_nm_pages_exactly_over_three_sites(fed):
    """doc/dataset-example-queries.md "photon energy range" shape, on wavelength, asked in nm."""
    hub, dsns = fed
    flt = {
        "include": [
            {
                "relation": "parameters",
                "scope": {
                    "where": {
                        "and": [
                            {"name": "wavelength"},
                            {"value": {"between": [0.092, 0.097]}},
                            {"unit": "nm"},
                        ]
                    }
                },
            }
        ]
    }
    expected = await sql(dsns, "SELECT id::text FROM data_collection WHERE wavelength BETWEEN 0.92 AND 0.97")
    assert len({s for s, _ in expected}) >= 2  # more than one site holds matches
    got = await walk(hub, flt, 400)
    assert len(keys(got)) == len(set(keys(got))) == len(expected)  # each once: no page overlaps another
    assert set(keys(got)) == expected
    for d in got[:20]:
        (p,) = d["parameters"]
        assert p["name"] == "wavelength" and p["unit"] == "nm" and 0.092 <= p["value"] <= 0.097
    # the hub's order (newest first) is kept across pages: the same as one big page
    one = await get(hub, "/panosc/Datasets", {**flt, "limit": 1000})
    assert keys(one.json()) == keys(got)[:1000]


async def test_technique_example_query_and_a_technique_nobody_has(fed):
    hub, dsns = fed
    total = len(await sql(dsns, "SELECT id FROM data_collection"))
    flt = {
        "include": [
            {"relation": "techniques", "scope": {"where": {"name": "macromolecular crystallography"}}}
        ]
    }
    resp = await get(hub, "/panosc/Datasets", {**flt, "limit": 5})
    assert resp.status_code == 200 and len(resp.json()) == 5
    assert all(
        d["techniques"] == [{"pid": PANET_MX, "name": "macromolecular crystallography"}] for d in resp.json()
    )
    by_pid = {"include": [{"relation": "techniques", "scope": {"where": {"pid": {"inq": [PANET_MX]}}}}]}
    assert len((await get(hub, "/panosc/Datasets", {**by_pid, "skip": total - 3})).json()) == 3
    assert (await get(hub, "/panosc/Datasets", {**by_pid, "skip": total})).json() == []
    xas = {"include": [{"relation": "techniques", "scope": {"where": {"name": "x-ray absorption"}}}]}
    assert (await get(hub, "/panosc/Datasets", xas)).json() == []


async def test_paging_without_a_filter_walks_every_record_once(fed):
    """No filter: skip is walked by the hub's cursors (positions only), never by per-site offsets."""
    hub, dsns = fed
    expected = await sql(dsns, "SELECT id::text FROM data_collection")
    got = await walk(hub, {}, 1000)
    assert len(got) == len(expected) and set(keys(got)) == expected
    middle = await get(hub, "/panosc/Datasets", {"skip": 1234, "limit": 7})
    assert keys(middle.json()) == keys(got)[1234:1241]


async def test_instrument_scope_and_where_with_and_or_like(fed):
    hub, dsns = fed
    flt = {
        "where": {"or": [{"title": {"ilike": "thermolysin"}}, {"title": {"like": "Insulin"}}]},
        "include": [{"relation": "instrument", "scope": {"where": {"facility": "esrf", "name": "id30b"}}}],
    }
    expected = await sql(
        {"esrf": dsns["esrf"]},
        "SELECT dc.id::text FROM data_collection dc JOIN protein p ON p.id = dc.protein_id "
        "WHERE (p.name ILIKE '%thermolysin%' OR p.name LIKE '%Insulin%') AND dc.beamline = 'id30b'",
    )
    got = await walk(hub, flt, 30)
    assert set(keys(got)) == expected and len(got) == len(expected) > 30
    assert {(d["instrument"]["facility"], d["instrument"]["name"]) for d in got} == {("esrf", "id30b")}


async def test_counts_are_exact(fed):
    hub, dsns = fed
    total = len(await sql(dsns, "SELECT id FROM data_collection"))
    body = (await hub.http.get("/panosc/Datasets/count")).json()
    assert body == {"count": total, "complete": True, "failedSites": []}
    where = {"creationDate": {"gt": "2020-01-01"}}
    expected = await sql(dsns, "SELECT id FROM data_collection WHERE start_time > '2020-01-01'")
    body = (await hub.http.get("/panosc/Datasets/count", params={"where": json.dumps(where)})).json()
    assert body["count"] == len(expected)


async def test_instruments_and_documents(fed):
    hub, dsns = fed
    beamlines = await sql(dsns, "SELECT DISTINCT beamline FROM session WHERE beamline IS NOT NULL")
    resp = await hub.http.get("/panosc/Instruments")
    assert {(i["facility"], i["name"]) for i in resp.json()} == beamlines
    count = (await hub.http.get("/panosc/Instruments/count")).json()["count"]
    assert count == len(beamlines)
    site, name = sorted(beamlines)[0]
    one = await hub.http.get(f"/panosc/Instruments/{site}:{name}")
    assert one.json()["name"] == name and one.json()["facility"] == site
    assert (await hub.http.get("/panosc/Instruments/esrf:no-such-beamline")).status_code == 404

    proposals = await sql(dsns, "SELECT code FROM proposal")
    docs = (await hub.http.get("/panosc/Documents")).json()
    assert {tuple(d["pid"].split(":", 1)) for d in docs} == proposals
    assert all(d["type"] == "proposal" for d in docs)
    site, code = sorted(proposals)[0]
    n = len(
        await sql(
            {site: dsns[site]},
            "SELECT dc.id FROM data_collection dc JOIN proposal p ON p.id = dc.proposal_id WHERE p.code = $1",
            code,
        )
    )
    doc = await get(hub, f"/panosc/Documents/{site}:{code}", {"include": ["datasets"]})
    assert doc.status_code == 200 and len(doc.json()["datasets"]) == n


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('{"include": [{"relation": "spaceships"}]}', "unknown relation 'spaceships'"),
        ('{"where": {"title": {"regexp": "x"}}}', "unknown operator 'regexp'"),
        ('{"where": {"and": {}}}', "non-empty list"),
        ('{"limit": -1}', "non-negative"),
        (
            '{"include": [{"relation": "parameters", "scope": {"where": {"and": [{"name": "wavelength"}, '
            '{"value": {"lt": 1}}, {"unit": "furlong"}]}}}]}',
            "unknown unit 'furlong'",
        ),
    ],
)
async def test_malformed_filters_are_400_with_a_reason(fed, raw, reason):
    hub, _ = fed
    resp = await hub.http.get("/panosc/Datasets", params={"filter": raw})
    assert resp.status_code == 400
    assert reason in resp.json()["error"]["message"]


async def test_a_refused_token_is_401_as_at_graphql(fed):
    hub, _ = fed
    resp = await hub.http.get("/panosc/Datasets/count", headers={"authorization": "Bearer wrong"})
    assert resp.status_code == 401 and "not authenticated" in resp.json()["error"]["message"]
    assert resp.headers["www-authenticate"].startswith("Bearer")


class Switchable:
    """A real site that can be switched to answering garbage (tests/fixtures/faulty.broken_site)."""

    def __init__(self, app) -> None:
        self.app, self.garbage, self.broken = app, broken_site("garbage"), threading.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql" and self.broken.is_set():
            await self.garbage(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def test_a_failing_site_is_named_not_dropped(
    pg_server_dsn, demo_sites, diamond_demo_dsn, esrf_demo_dsn
):
    hub_db = "mxhub_panosc_failing"
    await drop_database(pg_server_dsn, hub_db)
    hub_dsn = await create_database(pg_server_dsn, hub_db)
    flaky = Switchable(create_site_app(NativeBackend(esrf_demo_dsn, min_size=1, max_size=2), site="flaky"))
    try:
        with serve_in_thread(flaky) as flaky_url, serve_hub(hub_dsn) as hub:
            assert "errors" not in await hub.register("diamond", demo_sites["diamond"])
            assert "errors" not in await hub.register("flaky", flaky_url)
            flaky.broken.set()
            diamond = len(await sql({"diamond": diamond_demo_dsn}, "SELECT id FROM data_collection"))
            resp = await hub.http.get("/panosc/Datasets", params={"filter": json.dumps({"limit": 1000})})
            assert resp.status_code == 200
            assert resp.headers["x-mxhub-failed-sites"] == "flaky"
            assert resp.headers["x-mxhub-complete"] == "false"
            assert {decode_id(d["pid"]).site for d in resp.json()} == {"diamond"}
            assert len(resp.json()) == diamond
            body = (await hub.http.get("/panosc/Datasets/count")).json()
            assert body == {"count": diamond, "complete": False, "failedSites": ["flaky"]}
            resp = await hub.http.get("/panosc/Instruments")
            assert resp.headers["x-mxhub-failed-sites"] == "flaky"
            await hub.http.aclose()
    finally:
        await drop_database(pg_server_dsn, hub_db)
