"""Grid scans, per-image quality, X-ray centring and downstream results on the native store (issue 16):
the demo's rows (migration 006) served through GraphQL, every expectation read by SQL from the store."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

GRID = """grid { localId stepsX stepsY stepSizeX stepSizeY orientation snaked }
  imageQuality { imageNumber spotTotal goodBraggCandidates method2Resolution }
  xrayCentring { localId status kind centreOfMassX centreOfMassY maxVoxelX maxVoxelY numberOfVoxels totalCount
    boundingBoxMinX boundingBoxMaxX }"""
DOWNSTREAM = """processing { localId status
  integrations { localId dataCollectionLocalId startImageNumber endImageNumber refinedDetectorDistance
    refinedBeamCentreX cell { a } }
  mrRuns { localId program status rEnd rFreeEnd logFiles }
  phasing { localId program method figureOfMerit pseudoFreeCc } }"""


async def fetch(dsn: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def node(gql, local_id: int, fields: str) -> dict[str, Any]:
    from mx_schema.ids import encode_id

    body = await gql(
        f"query($id: ID!) {{ node(id: $id) {{ ... on DataCollection {{ localId numberOfImages {fields} }} }} }}",
        {"id": encode_id("esrf", "DataCollection", str(local_id))},
    )
    assert "errors" not in body, body
    return body["data"]["node"]


async def test_a_grid_with_its_spot_map_and_centring(esrf_gql, esrf_demo_dsn):
    (row,) = await fetch(
        esrf_demo_dsn,
        """SELECT g.*, dc.number_of_images FROM grid_scan g JOIN data_collection dc ON dc.id = g.data_collection_id
           WHERE EXISTS (SELECT 1 FROM xray_centring_result x WHERE x.data_collection_id = g.data_collection_id
                         AND x.status = 'SUCCESS')
           ORDER BY g.id LIMIT 1""",
    )
    spots = await fetch(
        esrf_demo_dsn,
        "SELECT image_number, spot_total FROM image_quality WHERE data_collection_id = $1 ORDER BY image_number",
        row["data_collection_id"],
    )
    (centring,) = await fetch(
        esrf_demo_dsn,
        "SELECT * FROM xray_centring_result WHERE data_collection_id = $1",
        row["data_collection_id"],
    )
    got = await node(esrf_gql, row["data_collection_id"], GRID)
    grid = got["grid"]
    assert (grid["stepsX"], grid["stepsY"]) == (row["steps_x"], row["steps_y"])
    assert grid["stepsX"] * grid["stepsY"] == got["numberOfImages"]  # one image per box
    assert grid["stepSizeX"] == pytest.approx(row["step_size_x"]) and grid["snaked"] is row["snaked"]
    assert [(q["imageNumber"], q["spotTotal"]) for q in got["imageQuality"]] == [
        (r["image_number"], r["spot_total"]) for r in spots
    ]
    assert len(spots) == got["numberOfImages"]
    (x,) = got["xrayCentring"]
    assert (x["localId"], x["status"], x["kind"]) == (str(centring["id"]), "SUCCESS", centring["kind"])
    assert x["centreOfMassX"] == pytest.approx(centring["centre_of_mass_x"])
    assert (x["maxVoxelX"], x["maxVoxelY"], x["numberOfVoxels"]) == (
        centring["max_voxel_x"],
        centring["max_voxel_y"],
        centring["number_of_voxels"],
    )
    assert x["totalCount"] == pytest.approx(centring["total_count"])


async def test_rotation_without_grid_answers_null_and_empty(esrf_gql, esrf_demo_dsn):
    (row,) = await fetch(
        esrf_demo_dsn,
        """SELECT dc.id FROM data_collection dc WHERE dc.experiment_type = 'OSC'
           AND NOT EXISTS (SELECT 1 FROM image_quality q WHERE q.data_collection_id = dc.id) ORDER BY dc.id LIMIT 1""",
    )
    got = await node(esrf_gql, row["id"], GRID)
    assert got["grid"] is None and got["imageQuality"] == [] and got["xrayCentring"] == []


async def test_integrations_dimple_and_phasing_of_a_collection(esrf_gql, esrf_demo_dsn):
    (row,) = await fetch(
        esrf_demo_dsn,
        """SELECT pr.data_collection_id AS dc FROM processing_result pr JOIN phasing p ON p.processing_result_id = pr.id
           JOIN mr_run m ON m.processing_result_id IN
                (SELECT id FROM processing_result WHERE data_collection_id = pr.data_collection_id)
           ORDER BY pr.id LIMIT 1""",
    )
    results = await fetch(
        esrf_demo_dsn,
        "SELECT id, status FROM processing_result WHERE data_collection_id = $1 ORDER BY id",
        row["dc"],
    )
    ids = [r["id"] for r in results]
    integrations = await fetch(
        esrf_demo_dsn, "SELECT * FROM integration WHERE processing_result_id = ANY($1)", ids
    )
    runs = await fetch(esrf_demo_dsn, "SELECT * FROM mr_run WHERE processing_result_id = ANY($1)", ids)
    phasing = await fetch(esrf_demo_dsn, "SELECT * FROM phasing WHERE processing_result_id = ANY($1)", ids)
    got = await node(esrf_gql, row["dc"], DOWNSTREAM)
    assert [p["localId"] for p in got["processing"]] == [str(i) for i in ids]
    by_result = {p["localId"]: p for p in got["processing"]}
    for i in integrations:
        (served,) = by_result[str(i["processing_result_id"])]["integrations"]
        assert served["localId"] == str(i["id"]) and served["dataCollectionLocalId"] == str(row["dc"])
        assert (served["startImageNumber"], served["endImageNumber"]) == (
            i["start_image_number"],
            i["end_image_number"],
        )
        assert served["endImageNumber"] <= got["numberOfImages"]
        assert served["refinedDetectorDistance"] == pytest.approx(i["refined_detector_distance"])
    for m in runs:
        (served,) = by_result[str(m["processing_result_id"])]["mrRuns"]
        assert (served["program"], served["status"]) == (m["program"], m["status"])
        if m["r_free_end"] is None:
            assert served["rFreeEnd"] is None
        else:
            assert served["rFreeEnd"] == pytest.approx(m["r_free_end"])
        assert served["logFiles"] == list(m["log_files"])
    for p in phasing:
        (served,) = by_result[str(p["processing_result_id"])]["phasing"]
        assert (served["program"], served["method"]) == (p["program"], p["method"])
        assert served["figureOfMerit"] == pytest.approx(p["figure_of_merit"])
        assert served["pseudoFreeCc"] == pytest.approx(p["pseudo_free_cc"])
    failed = [str(r["id"]) for r in results if r["status"] != "SUCCESS"]
    for f in failed:  # a failed run integrated nothing
        assert by_result[f]["integrations"] == [] and by_result[f]["mrRuns"] == []


async def test_dimple_r_free_is_a_fraction_above_r(esrf_demo_dsn):
    rows = await fetch(esrf_demo_dsn, "SELECT r_end, r_free_end FROM mr_run WHERE status = 'SUCCESS'")
    assert rows and all(0 < r["r_end"] < r["r_free_end"] < 1 for r in rows)


async def test_a_page_of_100_with_every_new_relation(esrf_gql, esrf_backend):
    """Six new relations: six statements more than the same page without them, at 10 or 100 rows."""
    fields = GRID + DOWNSTREAM
    extra = {}
    for size in (10, 100):
        costs = []
        for wanted in ("processing { localId status }", fields):
            before = esrf_backend.statements
            body = await esrf_gql(
                f"query($n: Int) {{ dataCollections(first: $n) {{ edges {{ node {{ localId {wanted} }} }} }} }}",
                {"n": size},
            )
            assert "errors" not in body, body
            assert len(body["data"]["dataCollections"]["edges"]) == size
            costs.append(esrf_backend.statements - before)
        extra[size] = costs[1] - costs[0]
    assert extra[10] == extra[100] == 6


async def test_relations_of_a_hidden_collection_stay_hidden(esrf_backend, esrf_demo_dsn):
    """The access rule (site_adapter/access.py) holds on the new relations too: an anonymous viewer under
    an embargo that nothing has outlived gets none of them, whoever asks the backend for them."""
    from site_adapter.access import ANONYMOUS, SCOPE, EmbargoPolicy, Scope

    (row,) = await fetch(
        esrf_demo_dsn,
        """SELECT g.data_collection_id AS dc, i.processing_result_id AS pr FROM grid_scan g, integration i
           JOIN mr_run m ON m.processing_result_id = i.processing_result_id ORDER BY g.id, i.id LIMIT 1""",
    )
    dc, pr = str(row["dc"]), str(row["pr"])
    assert (await esrf_backend.grids_by_collection([dc]))[dc] is not None
    assert (await esrf_backend.integrations_by_result([pr]))[pr] and (
        await esrf_backend.mr_runs_by_result([pr])
    )[pr]
    token = SCOPE.set(Scope(viewer=ANONYMOUS, embargo=EmbargoPolicy(default_years=1000)))
    try:
        assert await esrf_backend.grids_by_collection([dc]) == {dc: None}
        assert await esrf_backend.image_quality_by_collection([dc]) == {dc: []}
        assert await esrf_backend.xray_centring_by_collection([dc]) == {dc: []}
        assert await esrf_backend.integrations_by_result([pr]) == {pr: []}
        assert await esrf_backend.mr_runs_by_result([pr]) == {pr: []}
        assert await esrf_backend.phasing_by_result([pr]) == {pr: []}
    finally:
        SCOPE.reset(token)
