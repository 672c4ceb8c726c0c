"""Two demo sites and the demo LIMS on loopback, registered with a real hub: the LIMS shares keys with the
sites, a chemical search names collections at both sites, and site samples stitch to their LIMS records."""

from __future__ import annotations

from contextlib import ExitStack

import httpx
import pytest

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.sites import serve_in_thread
from tests.site_adapter.lims.conftest import DEMO_LIMS_SITES
from tests.site_adapter.lims.expected import demo_samples

COLLECTIONS = """query($after: String) { dataCollections(filter: {proteinAcronym: "HEWL"}, first: 500, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id site sample { id barcode crystal { uuid } externalIds { system kind value } } } } } }"""
SEARCH = """{ crystallisationSearch(filter: {chemical: "sodium chloride"}) { crystalUuids pinBarcodes count truncated } }"""
ENTITIES = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { id crystallisation {
  pinBarcode components { name } source conflicts } } } }"""


@pytest.fixture(scope="module")
def lims_url(lims_demo_dsn):
    with ExitStack() as stack:
        yield stack.enter_context(serve_in_thread(create_lims_app(LimsStore(lims_demo_dsn), name="lims")))


async def _post(client: httpx.AsyncClient, url: str, query: str, variables: dict | None = None) -> dict:
    r = await client.post(f"{url}/graphql", json={"query": query, "variables": variables or {}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _hewl_collections(client: httpx.AsyncClient, url: str) -> list[dict]:
    nodes, after = [], None
    while True:
        page = (await _post(client, url, COLLECTIONS, {"after": after}))["dataCollections"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


def representation(sample: dict) -> dict:
    """What a Federation v2 router sends: the site's values of the fields the LIMS `@requires`."""
    return {"__typename": "Sample", **{k: sample[k] for k in ("id", "crystal", "barcode", "externalIds")}}


async def test_chemical_search_names_collections_at_both_sites(demo_sites, lims_url, running_hub):
    for name, url in demo_sites.items():
        assert "errors" not in await running_hub.register(name, f"{url}/graphql")
    registered = await running_hub.register("lims", f"{lims_url}/graphql", kind="lims")
    assert "errors" not in registered, registered

    known, _ = demo_samples(DEMO_LIMS_SITES)
    expected_pins = {(k.site, k.pin) for k in known if k.acronym == "HEWL"}
    async with httpx.AsyncClient(timeout=30) as client:
        matches = (await _post(client, lims_url, SEARCH))["crystallisationSearch"]
        assert matches["truncated"] is False
        uuids, pins = set(matches["crystalUuids"]), set(matches["pinBarcodes"])
        found: dict[str, set] = {}
        stitched = 0
        for site, url in demo_sites.items():
            collections = await _hewl_collections(client, url)
            hits = [
                c
                for c in collections
                if (c["sample"]["crystal"] or {}).get("uuid") in uuids or c["sample"]["barcode"] in pins
            ]
            found[site] = {(site, c["sample"]["barcode"]) for c in hits}
            # Stitch the site's samples to the LIMS with a router's representation, in one batch.
            samples = list({c["sample"]["id"]: c["sample"] for c in collections}.values())
            ents = (await _post(client, lims_url, ENTITIES, {"r": [representation(s) for s in samples]}))[
                "_entities"
            ]
            for s, e in zip(samples, ents, strict=True):
                cryst = e["crystallisation"]
                assert (cryst is not None) == ((site, s["barcode"]) in expected_pins), s["barcode"]
                if cryst is not None:
                    stitched += 1
                    assert cryst["pinBarcode"] == s["barcode"] and cryst["source"] == "lims"
                    assert "sodium chloride" in [c["name"] for c in cryst["components"]]
    assert found["esrf"] and found["diamond"]
    assert found["esrf"] | found["diamond"] == expected_pins
    assert stitched == len(expected_pins)
