"""The hub with two demo sites and the demo LIMS: crystallisation stitched onto samples in one LIMS
call, and a LIMS search (a crystallisation chemical) answered with the right collections of both sites."""

from __future__ import annotations

import json
from contextlib import ExitStack

import httpx
import pytest

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.sites import serve_in_thread

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
        keys = (await c.post(lims + "/graphql", json={"query": """{ crystallisationSearch(filter: {chemical: "7647-14-5"})
                 { crystalUuids pinBarcodes truncated } }"""})).json()["data"]["crystallisationSearch"]
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
    want = [(n["site"], n["localId"]) for n in every
            if (n["sample"]["crystal"] or {}).get("uuid") in uuids or n["sample"]["barcode"] in pins]
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
    body = await hub.query("query($id: ID!) { node(id: $id) { ... on Sample { name crystallisation { pinBarcode } } } }", {"id": sid})
    assert body["data"]["node"]["crystallisation"]["pinBarcode"] == known[0]["xtal"]["pinBarcode"]


async def test_a_down_lims_is_named_and_site_data_still_returned(running_hub, demo_sites, lims_demo_dsn):
    assert "errors" not in await running_hub.register("esrf", demo_sites["esrf"])
    with serve_in_thread(create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=1), name="lims")) as lims:
        assert "errors" not in await running_hub.register("lims", lims, kind="lims")
    body = await running_hub.query("{ dataCollections(first: 5) { edges { node { localId sample { name crystallisation { method } } } } } }")
    edges = body["data"]["dataCollections"]["edges"]
    assert len(edges) == 5 and all(e["node"]["sample"]["crystallisation"] is None for e in edges)
    assert any(e["extensions"]["site"] == "lims" for e in body["errors"])
    body = await running_hub.query(ALL, {"f": {"lims": {"chemical": "sodium chloride"}}})
    assert body["data"]["dataCollections"]["edges"] == []
    assert body["extensions"]["totalCountComplete"] is False
    assert any(e["extensions"]["site"] == "lims" for e in body["errors"])


async def test_unknown_chemical_is_a_clear_error(federation):
    hub, _, _ = federation
    body = await hub.query(ALL, {"f": {"lims": {"chemical": "sodium chlorid"}}})
    err = body["errors"][0]
    assert err["extensions"]["code"] == "BAD_USER_INPUT" and "sodium chloride" in err["message"]
