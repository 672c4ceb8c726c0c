"""Grid scans, per-image quality, X-ray centring and downstream results on every implementation (issue 16):
what the SDL's descriptions promise of any record, and at the hub the same answer as the site that holds it.

Values are checked against their stores in tests/site_adapter (native and ISPyB) and tests/hub; here,
only what holds everywhere: one image per grid box, image numbers in order and within the collection,
integrations inside the collection's images, R and Rfree fractions 0-1, statuses from the documented set.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.contract import ADMIN

FIELDS = """id site localId startImageNumber numberOfImages
  grid { stepsX stepsY stepSizeX stepSizeY orientation snaked }
  imageQuality { imageNumber spotTotal goodBraggCandidates method2Resolution }
  xrayCentring { localId status kind centreOfMassX maxVoxelX boundingBoxMinX boundingBoxMaxX }
  processing { localId
    integrations { localId dataCollectionLocalId startImageNumber endImageNumber refinedDetectorDistance }
    mrRuns { localId status rStart rEnd rFreeStart rFreeEnd logFiles }
    phasing { localId status figureOfMerit } }"""
PAGE = f"""query($after: String) {{ dataCollections(first: 50, after: $after) {{
  pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {FIELDS} }} }} }} }}"""
STATUSES = {"SUCCESS", "FAILED", "RUNNING", "UNKNOWN"}


async def every_node(impl: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = await impl.query(PAGE, {"after": after}, ADMIN)
        assert "errors" not in body, body["errors"]
        conn = body["data"]["dataCollections"]
        nodes += [e["node"] for e in conn["edges"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return nodes
        after = conn["pageInfo"]["endCursor"]


def check(node: dict[str, Any]) -> None:
    first = node["startImageNumber"] or 1
    last = first + (node["numberOfImages"] or 0) - 1
    grid = node["grid"]
    if grid is not None and grid["stepsX"] and grid["stepsY"] and node["numberOfImages"]:
        assert grid["stepsX"] * grid["stepsY"] == node["numberOfImages"], node  # one image per grid box
        assert grid["stepSizeX"] is None or 0 < grid["stepSizeX"] < 1000, grid  # µm: a box is not a mm wide
    numbers = [q["imageNumber"] for q in node["imageQuality"]]
    assert numbers == sorted(set(numbers)), node["localId"]  # by image number, each once
    assert all(first <= i <= last for i in numbers), node["localId"]
    for q in node["imageQuality"]:
        if q["spotTotal"] is not None and q["goodBraggCandidates"] is not None:
            assert q["goodBraggCandidates"] <= q["spotTotal"], q
    for x in node["xrayCentring"]:
        assert x["status"] in {"SUCCESS", "FAILED", "PENDING", None}, x
        if x["boundingBoxMinX"] is not None and x["boundingBoxMaxX"] is not None:
            assert x["boundingBoxMinX"] <= x["boundingBoxMaxX"], x
    for result in node["processing"]:
        for i in result["integrations"]:
            if i["startImageNumber"] is not None and i["endImageNumber"] is not None:
                assert i["startImageNumber"] <= i["endImageNumber"], i
        for m in result["mrRuns"]:
            assert m["status"] in STATUSES, m
            for r in (m["rStart"], m["rEnd"], m["rFreeStart"], m["rFreeEnd"]):
                assert r is None or 0 <= r <= 1, m  # fractions, never percent
        for p in result["phasing"]:
            assert p["status"] in STATUSES and (p["figureOfMerit"] is None or 0 <= p["figureOfMerit"] <= 1), p


async def test_grid_and_downstream_fields_keep_their_promises(impl):
    nodes = await every_node(impl)
    assert nodes
    for node in nodes:
        check(node)
    if impl.name in ("ispyb", "hub"):  # Diamond's fixture has a grid, image quality and Dimple runs
        assert any(n["grid"] for n in nodes) and any(n["imageQuality"] for n in nodes)
        assert any(m for n in nodes for p in n["processing"] for m in p["mrRuns"])


@pytest.mark.parametrize("site_impl", ["native", "ispyb"])
async def test_the_hub_answers_what_the_site_answers(request, contract_hub, site_impl):
    site = request.getfixturevalue(f"contract_{site_impl}")
    (name,) = site.sites
    at_site = {n["localId"]: n for n in await every_node(site)}
    at_hub = {n["localId"]: n for n in await every_node(contract_hub) if n["site"] == name}
    assert at_hub.keys() == at_site.keys()
    for local_id, node in at_site.items():
        assert at_hub[local_id] == node, local_id
