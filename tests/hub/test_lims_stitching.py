"""The hub with two demo sites and the demo LIMS: crystallisation stitched onto samples in one LIMS
call, and a LIMS search (a crystallisation chemical) answered with the right collections of both sites."""

from __future__ import annotations

import json
from contextlib import ExitStack

import asyncpg
import httpx
import pytest

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.crims import import_crims_csv
from site_adapter.lims.ddl import migrate
from site_adapter.lims.store import LimsStore
from tests.fixtures.lims import DEMO_LIMS_SITES
from tests.fixtures.sites import serve_in_thread
from tests.site_adapter.lims.expected import demo_samples

ALL = """query($f: DataCollectionFilter, $after: String, $first: Int) {
  dataCollections(filter: $f, first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { site localId sample { barcode crystal { uuid } } } } } }"""


class Recorder:
    """Wraps an ASGI app and keeps the GraphQL documents it was sent (to count calls of one kind)."""

    def __init__(self, app) -> None:
        self.app = app
        self.queries: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] != "/graphql":
            return await self.app(scope, receive, send)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        try:
            self.queries.append(json.loads(body).get("query", ""))
        except ValueError:
            pass
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


@pytest.fixture
async def federation(running_hub, demo_sites, lims_demo_dsn):
    with ExitStack() as stack:
        recorder = Recorder(create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=2), name="lims"))
        lims = stack.enter_context(serve_in_thread(recorder))
        running_hub.lims_recorder = recorder
        for name, url in demo_sites.items():
            assert "errors" not in await running_hub.register(name, url)
        assert "errors" not in await running_hub.register("lims", lims, kind="lims")
        yield running_hub, demo_sites, lims


async def walk(hub, flt: dict, size: int) -> list[tuple[str, str]]:
    seen, after = [], None
    while True:
        body = await hub.query(ALL, {"f": flt, "after": after, "first": size})
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        seen += [(e["node"]["site"], e["node"]["localId"]) for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return seen
        after = conn["pageInfo"]["endCursor"]


async def test_chemical_search_returns_the_right_collections_from_both_sites(federation):
    hub, sites, lims = federation
    async with httpx.AsyncClient() as c:
        keys = (
            await c.post(
                lims + "/graphql",
                json={
                    "query": """{ crystallisationSearch(filter: {chemical: "7647-14-5"})
                 { crystalUuids pinBarcodes truncated } }"""
                },
            )
        ).json()["data"]["crystallisationSearch"]
    uuids, pins = set(keys["crystalUuids"]), set(keys["pinBarcodes"])
    # Independently: every collection of both sites in the hub's order, filtered here by the LIMS keys
    every, after = [], None
    while True:
        body = await hub.query(ALL, {"f": {"resolutionBetterThan": 2.2}, "after": after, "first": 500})
        conn = body["data"]["dataCollections"]
        every += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    want = [
        (n["site"], n["localId"])
        for n in every
        if (n["sample"]["crystal"] or {}).get("uuid") in uuids or n["sample"]["barcode"] in pins
    ]
    assert {s for s, _ in want} == {"esrf", "diamond"}
    flt = {"lims": {"chemical": "sodium chloride"}, "resolutionBetterThan": 2.2}
    for size in (7, 100):
        assert await walk(hub, flt, size) == want  # same records, same order, by name or CAS


async def test_crystallisation_is_stitched_in_one_lims_call(federation):
    hub, _, lims = federation
    q = """{ dataCollections(filter: {site: "esrf"}, first: 60) { edges { node { sample { id barcode
             crystal { uuid } xtal: crystallisation { pinBarcode crystalUuid source components { name } }
             again: crystallisation { method } } } } } }"""
    before = len(hub.lims_recorder.queries)
    body = await hub.query(q)
    assert "errors" not in body, body
    batches = [x for x in hub.lims_recorder.queries[before:] if "_entities" in x]
    assert len(batches) == 1  # 60 samples, one LIMS batch
    samples = [e["node"]["sample"] for e in body["data"]["dataCollections"]["edges"]]
    known = [s for s in samples if s["xtal"] is not None]
    assert known
    for s in samples:
        assert not any(k.startswith("mxhub_") for k in s)
        if s["xtal"] is not None:
            assert s["xtal"]["crystalUuid"] == s["crystal"]["uuid"] or s["xtal"]["pinBarcode"] == s["barcode"]
            assert s["xtal"]["source"] == "lims" and s["again"]["method"]
        else:
            assert s["again"] is None
    # node(id) of a sample stitches too
    sid = known[0]["id"]
    body = await hub.query(
        "query($id: ID!) { node(id: $id) { ... on Sample { name crystallisation { pinBarcode } } } }",
        {"id": sid},
    )
    assert body["data"]["node"]["crystallisation"]["pinBarcode"] == known[0]["xtal"]["pinBarcode"]


async def test_a_down_lims_is_named_and_site_data_still_returned(running_hub, demo_sites, lims_demo_dsn):
    assert "errors" not in await running_hub.register("esrf", demo_sites["esrf"])
    with serve_in_thread(
        create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=1), name="lims")
    ) as lims:
        assert "errors" not in await running_hub.register("lims", lims, kind="lims")
    body = await running_hub.query(
        "{ dataCollections(first: 5) { edges { node { localId sample { name crystallisation { method } } } } } }"
    )
    edges = body["data"]["dataCollections"]["edges"]
    assert len(edges) == 5 and all(e["node"]["sample"]["crystallisation"] is None for e in edges)
    assert any(e["extensions"]["site"] == "lims" for e in body["errors"])
    body = await running_hub.query(ALL, {"f": {"lims": {"chemical": "sodium chloride"}}})
    assert body["data"]["dataCollections"]["edges"] == []
    assert body["extensions"]["totalCountComplete"] is False
    assert any(e["extensions"]["site"] == "lims" for e in body["errors"])


async def second_lims(dsn: str, rows: list[tuple[str, str, str, str]]) -> None:
    """A second LIMS store with one PEG 3350 condition per (uuid, pin, plate, well) row: a lab's own CRIMS."""
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        lines = ["plate_barcode,well,drop,components,crystal_uuid,pin_barcode,protein_name"]
        lines += [
            f"{plate},{well},3,22 %w/v PEG3350; 0.2 M NaCl,{uuid},{pin},Lysozyme"
            for uuid, pin, plate, well in rows
        ]
        report = await import_crims_csv(conn, "\n".join(lines) + "\n", source="crims.csv")
        assert report.errors == [], report.errors
    finally:
        await conn.close()


@pytest.fixture
async def two_lims(federation, empty_pg_dsn):
    """The federation plus `crims`, a LIMS that knows a few esrf crystals, only by PEG 3350 and sodium chloride."""
    hub, sites, lims = federation
    esrf = [k for k in demo_samples(DEMO_LIMS_SITES)[0] if k.site == "esrf" and k.lims_has_uuid][:3]
    await second_lims(empty_pg_dsn, [(k.uuid, k.pin, "CRIMS" + k.plate[-6:], k.well) for k in esrf])
    with serve_in_thread(
        create_lims_app(LimsStore(empty_pg_dsn, min_size=1, max_size=2), name="crims")
    ) as crims:
        assert "errors" not in await hub.register("crims", crims, kind="lims")
        yield hub, esrf


async def test_a_lims_without_the_chemical_adds_nothing_and_breaks_nothing(federation, empty_pg_dsn):
    hub, _, _ = federation
    flt = {"lims": {"chemical": "polyethylene glycol 4000"}}
    before = await walk(hub, flt, 200)
    assert before  # the demo LIMS's endothiapepsin crystals
    esrf = [k for k in demo_samples(DEMO_LIMS_SITES)[0] if k.site == "esrf" and k.lims_has_uuid][:3]
    await second_lims(empty_pg_dsn, [(k.uuid, k.pin, "CRIMS" + k.plate[-6:], k.well) for k in esrf])
    with serve_in_thread(
        create_lims_app(LimsStore(empty_pg_dsn, min_size=1, max_size=2), name="crims")
    ) as crims:
        assert "errors" not in await hub.register("crims", crims, kind="lims")
        body = await hub.query(ALL, {"f": flt, "first": 5})
        # Once this was HTTP 400 for the whole query: crims has no PEG 4000, which is not an error.
        assert "errors" not in body and "warnings" not in body["extensions"], body
        assert await walk(hub, flt, 200) == before
        lims_reports = {
            r["name"]: r["status"] for r in body["extensions"]["sites"] if r["name"] in ("lims", "crims")
        }
        assert lims_reports == {"lims": "ok", "crims": "ok"}


async def test_the_search_is_the_union_over_the_lims_that_know_the_terms(two_lims):
    hub, esrf = two_lims
    pins = {k.pin for k in esrf}
    # Only crims records PEG 3350, under any of its spellings; the demo LIMS does not know it.
    for term in ("PEG 3350", "PEG3350", "polyethylene glycol 3350"):
        body = await hub.query(ALL, {"f": {"lims": {"chemical": term}}, "first": 100})
        assert "errors" not in body and "warnings" not in body["extensions"], (term, body)
        found = {e["node"]["sample"]["barcode"] for e in body["data"]["dataCollections"]["edges"]}
        assert found == pins, term
    # Both know sodium chloride: the union, each collection once.
    nacl = await walk(hub, {"lims": {"chemical": "NaCl"}}, 500)
    assert len(nacl) == len(set(nacl))
    barcodes = set()
    after = None
    while True:
        body = await hub.query(
            ALL,
            {"f": {"lims": {"chemical": "sodium chloride"}, "site": "esrf"}, "after": after, "first": 500},
        )
        conn = body["data"]["dataCollections"]
        barcodes |= {e["node"]["sample"]["barcode"] for e in conn["edges"]}
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pins <= barcodes  # crims's crystals (whatever the demo LIMS grew them in) are in


@pytest.mark.parametrize(
    "flt, field, value, suggestion",
    [
        ({"chemical": "sodium chlorid"}, "chemical", "sodium chlorid", "sodium chloride"),
        ({"chemical": "PEG 3000"}, "chemical", "PEG 3000", "polyethylene glycol 3350"),
        ({"ligand": "BNZ"}, "ligand", "BNZ", "BEN"),
    ],
)
async def test_a_term_no_lims_knows_is_a_warning_with_suggestions(two_lims, flt, field, value, suggestion):
    hub, _ = two_lims
    before = len(hub.lims_recorder.queries)
    body = await hub.query(ALL, {"f": {"lims": flt}})
    searches = [q for q in hub.lims_recorder.queries[before:] if "crystallisationSearch" in q]
    assert "errors" not in body, body
    assert body["data"]["dataCollections"]["totalCount"] == 0
    (warning,) = body["extensions"]["warnings"]
    assert (warning["code"], warning["field"], warning["value"]) == ("UNKNOWN_TERM", field, value)
    assert suggestion in warning["suggestions"] and suggestion in warning["message"]
    assert warning["lims"] == ["crims", "lims"]
    assert len(searches) == 1  # one search call to the demo LIMS, nothing else


async def test_a_down_lims_is_named_and_the_others_keys_are_used(federation, empty_pg_dsn):
    hub, _, _ = federation
    flt = {"lims": {"chemical": "polyethylene glycol 4000"}}
    want = await walk(hub, flt, 200)
    await second_lims(empty_pg_dsn, [])
    with serve_in_thread(
        create_lims_app(LimsStore(empty_pg_dsn, min_size=1, max_size=1), name="crims")
    ) as crims:
        assert "errors" not in await hub.register("crims", crims, kind="lims")
    # crims has stopped: its search fails, the demo LIMS's keys still find the collections.
    body = await hub.query(ALL, {"f": flt, "first": 200})
    assert [
        (e["node"]["site"], e["node"]["localId"]) for e in body["data"]["dataCollections"]["edges"]
    ] == want[:200]
    assert [e["extensions"]["site"] for e in body["errors"]] == ["crims"]
    assert body["errors"][0]["extensions"]["code"] in ("SITE_UNAVAILABLE", "SITE_TIMEOUT")
    assert body["extensions"]["totalCountComplete"] is False
    (warning,) = body["extensions"]["warnings"]
    assert warning["code"] == "LIMS_SEARCH_INCOMPLETE" and warning["lims"] == ["crims"]
    assert "may be incomplete" in warning["message"]


LEGACY_SDL = """type Sample @key(fields: "id") { id: ID! crystallisation: Crystallisation }
type Crystallisation { method: String }
type CrystallisationMatches { crystalUuids: [String!]! pinBarcodes: [String!]! count: Int! truncated: Boolean! }
type LimsInfo { name: String! kind: String! schemaVersion: String! }
type Query { limsInfo: LimsInfo! crystallisationSearch(chemical: String): CrystallisationMatches! }"""


def legacy_lims(uuid: str, pin: str):
    """A LIMS of schema 1.0.0, as it answered: no `CrystallisationMatches.unknown`; a chemical nobody used is
    a BAD_USER_INPUT error with `extensions.suggestions`. It records one PEG 3350 crystal."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def graphql(request):
        body = await request.json()
        query, variables = body.get("query", ""), body.get("variables") or {}
        if "_service" in query:
            return JSONResponse({"data": {"_service": {"sdl": LEGACY_SDL}}})
        if "limsInfo" in query:
            return JSONResponse(
                {"data": {"limsInfo": {"name": "old", "kind": "lims", "schemaVersion": "1.0.0"}}}
            )
        if "unknown" in query:  # graphql-core's validation message for a field the 1.0 schema lacks
            return JSONResponse(
                {
                    "data": None,
                    "errors": [
                        {
                            "message": "Cannot query field 'unknown' on type 'CrystallisationMatches'.",
                            "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                        }
                    ],
                }
            )
        chemical = (variables.get("f") or {}).get("chemical")
        if chemical == "PEG 3350":
            return JSONResponse(
                {
                    "data": {
                        "crystallisationSearch": {
                            "crystalUuids": [uuid],
                            "pinBarcodes": [pin],
                            "count": 1,
                            "truncated": False,
                        }
                    }
                }
            )
        return JSONResponse(
            {
                "data": None,
                "errors": [
                    {
                        "message": f"unknown chemical {chemical!r}: no crystallisation condition in this LIMS uses it",
                        "path": ["crystallisationSearch"],
                        "extensions": {"code": "BAD_USER_INPUT", "suggestions": ["PEG 3350"]},
                    }
                ],
            }
        )

    return Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])


async def test_a_lims_of_schema_1_0_is_asked_its_own_query(federation):
    hub, _, _ = federation
    k = next(k for k in demo_samples(DEMO_LIMS_SITES)[0] if k.site == "esrf" and k.lims_has_uuid)
    with serve_in_thread(legacy_lims(k.uuid, k.pin)) as old:
        assert "errors" not in await hub.register("old", old, kind="lims")
        body = await hub.query(ALL, {"f": {"lims": {"chemical": "PEG 3350"}}, "first": 50})
        assert "errors" not in body and "warnings" not in body["extensions"], body
        assert {e["node"]["sample"]["barcode"] for e in body["data"]["dataCollections"]["edges"]} == {k.pin}
        # Its unknown-chemical error counts as "does not know it"; the demo LIMS does know it.
        body = await hub.query(ALL, {"f": {"lims": {"chemical": "sodium chloride"}}, "first": 5})
        assert "errors" not in body and body["data"]["dataCollections"]["totalCount"] > 0, body
        body = await hub.query(ALL, {"f": {"lims": {"chemical": "sodium chlorid"}}})
        assert "errors" not in body, body
        (warning,) = body["extensions"]["warnings"]
        assert warning["code"] == "UNKNOWN_TERM" and warning["lims"] == ["lims", "old"]
        assert {"sodium chloride", "PEG 3350"} <= set(warning["suggestions"])
