"""processing(pipeline:) and bestProcessing(pipeline:) (since 1.2.0), at every implementation: the results
of one pipeline, named as `program` serves it, ignoring case; an unknown pipeline is an empty list and a
null best result, not an error."""

from __future__ import annotations

from tests.fixtures.contract import ADMIN, Implementation

QUERY = """query($p: String, $first: Int) { dataCollections(first: $first) { edges { node { site localId
  processing { localId program status overall { resolutionHigh } }
  chosen: processing(pipeline: $p) { localId program }
  best: bestProcessing(pipeline: $p) { localId program overall { resolutionHigh } }
  unknown: processing(pipeline: "no such pipeline") { localId }
  unknownBest: bestProcessing(pipeline: "no such pipeline") { localId } } } } }"""


def best_by_hand(results: list[dict]) -> str | None:
    """CONTRACT.md: the successful result with the smallest overall resolutionHigh (ties: lowest id)."""
    ok = [
        r
        for r in results
        if r["status"] == "SUCCESS" and (r["overall"] or {}).get("resolutionHigh") is not None
    ]
    if not ok:
        return None
    return min(ok, key=lambda r: (r["overall"]["resolutionHigh"], int(r["localId"])))["localId"]


async def test_one_pipeline_of_each_collection(impl: Implementation) -> None:
    for asked, program in (("XIA2 DIALS", "xia2 dials"), ("fast_dp", "fast_dp"), ("autoproc", "autoPROC")):
        body = await impl.query(QUERY, {"p": asked, "first": 500}, ADMIN)
        assert "errors" not in body, body["errors"]
        matched = 0
        for edge in body["data"]["dataCollections"]["edges"]:
            node = edge["node"]
            mine = [r for r in node["processing"] if (r["program"] or "").lower() == program.lower()]
            assert [r["localId"] for r in node["chosen"]] == [r["localId"] for r in mine]
            assert (node["best"] or {}).get("localId") == best_by_hand(mine)
            assert node["unknown"] == [] and node["unknownBest"] is None
            matched += len(mine)
        if impl.kind != "site" or impl.name == "ispyb":  # Diamond's fixture runs all three pipelines
            assert matched > 0, f"no {program} result to choose"
