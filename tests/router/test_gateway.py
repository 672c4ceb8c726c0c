"""A real Federation v2 gateway (Hive Gateway, npm, pinned) over a running demo site and the demo LIMS:
`samples { crystallisation }` through it equals the same query through our hub."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from mx_schema import read_sdl
from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.lims import DEMO_LIMS_SITES
from tests.fixtures.sites import serve_in_thread
from tests.router.conftest import serve_gateway
from tests.site_adapter.lims.expected import demo_samples

LIMS_SDL = (Path(__file__).resolve().parents[2] / "schema" / "lims.graphql").read_text(encoding="utf-8")
SITE = "diamond"
SAMPLES = """query($after: String) { samples(first: 200, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id barcode crystallisation {
    recordId source crystalUuid pinBarcode method temperature ph setupDate well drop screen condition
    plate { barcode type } components { name casNumber concentration unit role ph } soaks { compound ccdId }
    construct { name uniprotId } purification { code } conflicts } } } } }"""


@pytest.fixture(scope="module")
def lims_url(lims_demo_dsn):
    with ExitStack() as stack:
        yield stack.enter_context(serve_in_thread(create_lims_app(LimsStore(lims_demo_dsn), name="lims")))


@pytest.fixture
def gateway(node, demo_sites, lims_url, tmp_path) -> Iterator[str]:
    """Hive Gateway serving the supergraph Apollo's composer made of the running site and LIMS."""
    subgraphs = {
        "site": (f"{demo_sites[SITE]}/graphql", read_sdl()),
        "lims": (f"{lims_url}/graphql", LIMS_SDL),
    }
    with serve_gateway(node, subgraphs, tmp_path) as url:
        yield url


async def _all_samples(client: httpx.AsyncClient, url: str, headers: dict | None = None) -> list[dict]:
    nodes, after = [], None
    while True:
        r = await client.post(url, json={"query": SAMPLES, "variables": {"after": after}}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        assert "errors" not in body, body["errors"]
        page = body["data"]["samples"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return nodes
        after = page["pageInfo"]["endCursor"]


async def test_crystallisation_through_the_gateway_equals_the_hub(gateway, demo_sites, lims_url, running_hub):
    assert "errors" not in await running_hub.register(SITE, f"{demo_sites[SITE]}/graphql")
    assert "errors" not in await running_hub.register("lims", f"{lims_url}/graphql", kind="lims")
    async with httpx.AsyncClient(timeout=120) as client:
        through_gateway = await _all_samples(client, f"{gateway}/graphql")
        through_hub = await _all_samples(client, f"{running_hub.url}/graphql")
    assert through_gateway and sorted(through_gateway, key=lambda s: s["id"]) == sorted(
        through_hub, key=lambda s: s["id"]
    )
    # The demo's samples the LIMS has records for show them (fixture data), and only those.
    known, _ = demo_samples(DEMO_LIMS_SITES)
    pins = {k.pin for k in known if k.site == SITE}
    filled = [s for s in through_gateway if s["crystallisation"] is not None]
    assert filled
    assert {s["barcode"] for s in filled} == {s["barcode"] for s in through_gateway} & pins
    assert all(s["crystallisation"]["pinBarcode"] == s["barcode"] for s in filled)
