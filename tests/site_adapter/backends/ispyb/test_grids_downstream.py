"""Grid scans, per-image quality, X-ray centring, integrations, MR runs and phasing read from Diamond's
ISPyB fixture (issue 16): every expectation is read here by SQL on the same database, not by our code.

data.sql holds one GridInfo (collection 6017405), ImageQualityIndicators for three collections, two
MXMRRun rows (Dimple, scaling 603470) and integrations; it has no XrayCentring or Phasing rows, so those
are checked on a database of our own: the fixture plus PHASING_OVERLAY (rows in ids above data.sql's).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import httpx
import pytest

from site_adapter.app import create_app
from site_adapter.backends.ispyb import IspybBackend
from tests.fixtures.mariadb import OVERLAY, admin_execute, connect_kwargs, load_ispyb, with_database


async def sql(dsn: str, query: str, *args: Any) -> list[dict[str, Any]]:
    """Rows by column name, straight from MariaDB."""
    parts = urlsplit(dsn)
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=parts.path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(query, args)
            return list(await cur.fetchall())
    finally:
        conn.close()


def collections_query(fields: str) -> str:
    return f"""query($first: Int) {{ dataCollections(first: $first) {{ edges {{ node {{ localId {fields} }} }} }} }}"""


GRID_FIELDS = """grid { localId stepsX stepsY stepSizeX stepSizeY orientation snaked micronsPerPixelX
  micronsPerPixelY snapshotOffsetX snapshotOffsetY meshAngle }
  imageQuality { imageNumber spotTotal inResolutionTotal goodBraggCandidates iceRings method1Resolution
  method2Resolution maxUnitCell totalIntegratedSignal dozorScore }
  xrayCentring { localId status kind centreOfMassX centreOfMassY maxVoxelX totalCount boundingBoxMaxY }"""
DOWNSTREAM_FIELDS = """processing { localId
  integrations { localId dataCollectionLocalId program startImageNumber endImageNumber
    refinedDetectorDistance refinedBeamCentreX refinedBeamCentreY cell { a c gamma } anomalous }
  mrRuns { localId program status message rStart rEnd rFreeStart rFreeEnd startTime endTime logFiles notes }
  phasing { localId program status method spaceGroup resolutionHigh figureOfMerit pseudoFreeCc
    enantiomorph solventContent } }"""


@pytest.fixture(scope="module")
async def gql(ispyb):
    app = create_app(ispyb, site="dls", manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:

        async def post(query: str, variables: dict | None = None) -> dict:
            r = await client.post("/graphql", json={"query": query, "variables": variables or {}})
            assert r.status_code < 500, r.text
            return r.json()

        yield post


async def test_grid_of_6017405_in_micrometres(ispyb, ispyb_dsn):
    (row,) = await sql(ispyb_dsn, "SELECT * FROM GridInfo WHERE dataCollectionId = %s", 6017405)
    grid = (await ispyb.grids_by_collection(["6017405"]))["6017405"]
    assert grid is not None and grid.local_id == str(row["gridInfoId"])
    assert (grid.steps_x, grid.steps_y) == (int(row["steps_x"]), int(row["steps_y"])) == (30, 16)
    assert grid.step_size_x == pytest.approx(row["dx_mm"] * 1000) == 20.0  # dx_mm 0.02 mm: 20 µm
    assert grid.step_size_y == pytest.approx(row["dy_mm"] * 1000)
    assert grid.orientation == row["orientation"] and grid.snaked is bool(row["snaked"]) is True
    assert grid.microns_per_pixel_x == pytest.approx(row["micronsPerPixelX"])
    assert (grid.snapshot_offset_x, grid.snapshot_offset_y) == (
        pytest.approx(row["snapshot_offsetXPixel"]),
        pytest.approx(row["snapshot_offsetYPixel"]),
    )
    (dc,) = await sql(ispyb_dsn, "SELECT numberOfImages FROM DataCollection WHERE dataCollectionId = 6017405")
    assert grid.steps_x * grid.steps_y == dc["numberOfImages"]  # one image per grid box


async def test_collections_without_grid_answer_none_and_empty_lists(ispyb, ispyb_dsn):
    none = await sql(
        ispyb_dsn,
        "SELECT dataCollectionId AS id FROM DataCollection dc WHERE NOT EXISTS (SELECT 1 FROM GridInfo g"
        " WHERE g.dataCollectionId = dc.dataCollectionId OR g.dataCollectionGroupId = dc.dataCollectionGroupId)",
    )
    ids = [str(r["id"]) for r in none]
    assert "993677" in ids
    grids = await ispyb.grids_by_collection(ids + ["not-an-id"])
    assert set(grids) == set(ids) | {"not-an-id"} and set(grids.values()) == {None}
    assert await ispyb.xray_centring_by_collection(["6017405"]) == {"6017405": []}  # no XrayCentring rows


async def test_image_quality_matches_the_table_in_image_order(ispyb, ispyb_dsn):
    rows = await sql(ispyb_dsn, "SELECT * FROM ImageQualityIndicators ORDER BY dataCollectionId, imageNumber")
    ids = sorted({str(r["dataCollectionId"]) for r in rows})
    assert ids == ["1052494", "1052503", "1066786"]
    got = await ispyb.image_quality_by_collection(ids + ["993677"])
    assert got["993677"] == []
    for dc in ids:
        want = [r for r in rows if str(r["dataCollectionId"]) == dc]
        have = got[dc]
        assert [q.image_number for q in have] == [r["imageNumber"] for r in want]
        for q, r in zip(have, want, strict=True):
            assert (q.spot_total, q.good_bragg_candidates, q.in_resolution_total, q.ice_rings) == (
                r["spotTotal"],
                r["goodBraggCandidates"],
                r["inResTotal"],
                r["iceRings"],
            )
            assert q.method1_resolution == pytest.approx(r["method1Res"], rel=1e-6)
            assert q.method2_resolution == pytest.approx(r["method2Res"], rel=1e-6)
            assert q.total_integrated_signal == pytest.approx(r["totalIntegratedSignal"])


async def test_integrations_of_the_two_sweep_result_596147(ispyb, ispyb_dsn):
    want = await sql(
        ispyb_dsn,
        "SELECT api.* FROM AutoProcScaling_has_Int shi JOIN AutoProcIntegration api"
        " ON api.autoProcIntegrationId = shi.autoProcIntegrationId WHERE shi.autoProcScalingId = 596147"
        " ORDER BY api.autoProcIntegrationId",
    )
    assert len(want) == 2  # xia2 dials multi-sweep: two integrations behind one scaling
    got = (await ispyb.integrations_by_result(["596147"]))["596147"]
    assert [i.local_id for i in got] == [str(r["autoProcIntegrationId"]) for r in want]
    for i, r in zip(got, want, strict=True):
        assert i.data_collection_local_id == str(r["dataCollectionId"])
        assert (i.start_image_number, i.end_image_number) == (r["startImageNumber"], r["endImageNumber"])
        assert i.refined_detector_distance == pytest.approx(r["refinedDetectorDistance"], rel=1e-6)
        assert i.refined_beam_centre_x == pytest.approx(r["refinedXBeam"], rel=1e-6)
        assert i.refined_beam_centre_y == pytest.approx(r["refinedYBeam"], rel=1e-6)
        assert i.cell is not None and i.cell.a == pytest.approx(r["cell_a"], rel=1e-6)
        assert i.anomalous is bool(r["anomalous"])
    assert got[1].end_image_number == 1800  # the second sweep's range differs from the first's


async def test_dimple_runs_of_603470(ispyb, ispyb_dsn):
    want = await sql(
        ispyb_dsn,
        "SELECT m.*, app.processingStatus, app.processingMessage FROM MXMRRun m"
        " JOIN AutoProcProgram app ON app.autoProcProgramId = m.autoProcProgramId"
        " WHERE m.autoProcScalingId = 603470 ORDER BY m.mxMRRunId",
    )
    logs = await sql(
        ispyb_dsn,
        "SELECT CONCAT(filePath, '/', fileName) AS path FROM AutoProcProgramAttachment"
        " WHERE autoProcProgramId = %s AND fileType = 'Log'",
        want[0]["autoProcProgramId"],
    )
    got = await ispyb.mr_runs_by_result(["603470", "596133"])
    assert got["596133"] == []
    runs = got["603470"]
    assert [r.local_id for r in runs] == [str(w["mxMRRunId"]) for w in want]
    ok, failed = runs
    # Dimple stores R as fractions (0.1682): served as they are, no note
    assert (ok.r_start, ok.r_end, ok.r_free_start, ok.r_free_end) == (
        pytest.approx(want[0]["rValueStart"], rel=1e-6),
        pytest.approx(want[0]["rValueEnd"], rel=1e-6),
        pytest.approx(want[0]["rFreeValueStart"], rel=1e-6),
        pytest.approx(want[0]["rFreeValueEnd"], rel=1e-6),
    )
    assert 0 < ok.r_end < 1 and ok.provenance_notes == ()
    assert (ok.program, ok.status, ok.message) == ("dimple", "SUCCESS", want[0]["processingMessage"])
    assert list(ok.log_files) == [r["path"] for r in logs] and ok.log_files[0].endswith("/dimple.log")
    assert (failed.status, failed.r_end, failed.message) == ("FAILED", None, want[1]["processingMessage"])
    assert await ispyb.phasing_by_result(["603470"]) == {"603470": []}


async def test_through_the_site_graphql(gql, ispyb_dsn):
    body = await gql(collections_query(GRID_FIELDS + DOWNSTREAM_FIELDS), {"first": 50})
    assert "errors" not in body, body
    nodes = {e["node"]["localId"]: e["node"] for e in body["data"]["dataCollections"]["edges"]}
    grid = nodes["6017405"]["grid"]
    assert (grid["stepsX"], grid["stepsY"], grid["stepSizeX"], grid["snaked"]) == (30, 16, 20.0, True)
    assert nodes["993677"]["grid"] is None and nodes["6017405"]["xrayCentring"] == []
    spots = await sql(
        ispyb_dsn,
        "SELECT imageNumber, spotTotal FROM ImageQualityIndicators WHERE dataCollectionId = 1066786 ORDER BY imageNumber",
    )
    assert [(q["imageNumber"], q["spotTotal"]) for q in nodes["1066786"]["imageQuality"]] == [
        (r["imageNumber"], r["spotTotal"]) for r in spots
    ]
    results = {p["localId"]: p for p in nodes["1002287"]["processing"]}
    dimple = results["603470"]["mrRuns"][0]
    assert (dimple["program"], dimple["status"], dimple["rFreeEnd"]) == (
        "dimple",
        "SUCCESS",
        pytest.approx(0.1888),
    )
    assert dimple["startTime"].startswith("2018-07-31T08:55:52")
    two = {p["localId"]: p for p in nodes["993677"]["processing"]}["596147"]["integrations"]
    assert [i["endImageNumber"] for i in two] == [3600, 1800]


async def test_a_page_with_every_new_relation_costs_one_statement_each(ispyb, gql):
    """The six relations cost one statement each, whatever the page size (the page itself may cost a
    statement more when it reaches the collections without a start time)."""

    async def cost(fields: str, first: int) -> int:
        before = ispyb.db.queries
        body = await gql(collections_query(fields), {"first": first})
        assert "errors" not in body, body
        assert len(body["data"]["dataCollections"]["edges"]) == min(first, 10)
        return ispyb.db.queries - before

    for first in (2, 100):
        plain = await cost("processing { localId }", first)
        assert await cost(GRID_FIELDS + DOWNSTREAM_FIELDS, first) - plain == 6, first


# Rows data.sql lacks, far above its ids: an X-ray centring on the grid of 6017405 (group 5440739), a
# grid named only by its group (1040398, of collection 1052494, as older GridInfo rows are) and
# a fast_ep phasing of scaling 596133 with its overall FOM and pseudo-free CC (binNumber 999).
PHASING_OVERLAY = """
INSERT INTO XrayCentring (xrayCentringId, dataCollectionGroupId, status, xrayCentringType)
  VALUES (990001, 5440739, 'success', '3d');
INSERT INTO XrayCentringResult (xrayCentringResultId, xrayCentringId, centreOfMassX, centreOfMassY, centreOfMassZ,
  maxVoxelX, maxVoxelY, maxVoxelZ, numberOfVoxels, totalCount, boundingBoxMinX, boundingBoxMaxX,
  boundingBoxMinY, boundingBoxMaxY, boundingBoxMinZ, boundingBoxMaxZ) VALUES
  (990001, 990001, 14.5, 7.25, 3.5, 14, 7, 3, 36, 5120, 12, 17, 5, 9, 2, 5),
  (990002, 990001, 3.0, 2.0, 1.0, 3, 2, 1, 4, 210, 2, 4, 1, 3, 0, 2);
INSERT INTO GridInfo (gridInfoId, dx_mm, dy_mm, steps_x, steps_y, orientation, snaked, dataCollectionGroupId,
  dataCollectionId) VALUES (990001, 0.01, 0.015, 2, 1, 'vertical', 0, 1040398, NULL);
INSERT INTO PhasingAnalysis (phasingAnalysisId) VALUES (990001);
INSERT INTO PhasingProgramRun (phasingProgramRunId, phasingPrograms, phasingStatus, phasingStartTime, phasingEndTime)
  VALUES (990001, 'fast_ep', 1, '2016-01-14 13:00:00', '2016-01-14 13:07:00');
INSERT INTO Phasing (phasingId, phasingAnalysisId, phasingProgramRunId, spaceGroupId, method, solventContent,
  enantiomorph, lowRes, highRes) VALUES
  (990001, 990001, 990001, (SELECT spaceGroupId FROM SpaceGroup WHERE spaceGroupShortName = 'P6122' LIMIT 1),
   'SAD', 0.52, 1, 45.0, 1.9);
INSERT INTO Phasing_has_Scaling (phasingHasScalingId, phasingAnalysisId, autoProcScalingId, datasetNumber)
  VALUES (990001, 990001, 596133, 0);
INSERT INTO PhasingStatistics (phasingHasScalingId1, binNumber, metric, statisticsValue) VALUES
  (990001, 999, 'FOM', 0.612), (990001, 999, 'Pseudo_free_CC', 67.3), (990001, 3, 'FOM', 0.2);
"""


@pytest.fixture(scope="module")
async def phased(mariadb_server_dsn):
    """A database of our own: the fixture, the shared overlay and PHASING_OVERLAY; dropped after."""
    database = f"mxhub_ispyb_phasing_{uuid.uuid4().hex[:8]}"
    try:
        await load_ispyb(mariadb_server_dsn, database, OVERLAY + PHASING_OVERLAY)
        dsn = with_database(mariadb_server_dsn, database)
        backend = IspybBackend(dsn, pool_size=2)
        await backend.start()
        yield backend, dsn
        await backend.close()
    finally:
        await admin_execute(mariadb_server_dsn, f"DROP DATABASE IF EXISTS `{database}`")


async def test_xray_centring_through_the_group(phased):
    backend, dsn = phased
    want = await sql(
        dsn,
        "SELECT r.*, xc.status AS centring_status, xc.xrayCentringType FROM DataCollection dc"
        " JOIN XrayCentring xc ON xc.dataCollectionGroupId = dc.dataCollectionGroupId"
        " JOIN XrayCentringResult r ON r.xrayCentringId = xc.xrayCentringId"
        " WHERE dc.dataCollectionId = 6017405 ORDER BY r.xrayCentringResultId",
    )
    got = await backend.xray_centring_by_collection(["6017405", "993677"])
    assert got["993677"] == []
    assert [r.local_id for r in got["6017405"]] == [str(w["xrayCentringResultId"]) for w in want]
    first = got["6017405"][0]
    assert (first.status, first.kind) == (want[0]["centring_status"].upper(), want[0]["xrayCentringType"])
    assert (first.centre_of_mass_x, first.centre_of_mass_z) == (
        pytest.approx(want[0]["centreOfMassX"]),
        pytest.approx(want[0]["centreOfMassZ"]),
    )
    assert (first.max_voxel_x, first.number_of_voxels) == (want[0]["maxVoxelX"], want[0]["numberOfVoxels"])
    assert first.total_count == pytest.approx(want[0]["totalCount"])
    assert first.bounding_box_max_y == pytest.approx(want[0]["boundingBoxMaxY"])


async def test_phasing_with_overall_statistics(phased):
    backend, dsn = phased
    (want,) = await sql(
        dsn,
        "SELECT p.*, sg.spaceGroupShortName, r.phasingPrograms FROM Phasing_has_Scaling phs"
        " JOIN Phasing p ON p.phasingAnalysisId = phs.phasingAnalysisId"
        " JOIN PhasingProgramRun r ON r.phasingProgramRunId = p.phasingProgramRunId"
        " LEFT JOIN SpaceGroup sg ON sg.spaceGroupId = p.spaceGroupId WHERE phs.autoProcScalingId = 596133",
    )
    stats = {
        r["metric"]: r["statisticsValue"]
        for r in await sql(dsn, "SELECT metric, statisticsValue FROM PhasingStatistics WHERE binNumber = 999")
    }
    (got,) = (await backend.phasing_by_result(["596133"]))["596133"]
    assert (got.local_id, got.program, got.status, got.method) == (
        str(want["phasingId"]),
        want["phasingPrograms"],
        "SUCCESS",
        want["method"],
    )
    assert got.space_group == want["spaceGroupShortName"] is not None
    assert got.resolution_high == pytest.approx(want["highRes"])
    assert got.figure_of_merit == pytest.approx(stats["FOM"])  # the overall bin, not bin 3's 0.2
    assert got.pseudo_free_cc == pytest.approx(stats["Pseudo_free_CC"])
    assert got.enantiomorph is True and got.solvent_content == pytest.approx(want["solventContent"])


class NoDatabase:
    """A database every call of which fails the test: relations of absent tables cost no statement."""

    async def fetch_rows(self, sql: str, args: Any = ()) -> list[dict[str, Any]]:
        raise AssertionError(f"unexpected statement: {sql}")


async def test_an_ispyb_without_the_tables_answers_empty_relations_without_a_statement():
    from site_adapter.backends.ispyb import downstream, grids
    from site_adapter.backends.ispyb.schema_check import SchemaInfo

    older = SchemaInfo(version="1.0 (no grid, quality, centring, MR or phasing tables)", columns={})
    db = NoDatabase()
    assert await grids.grids(db, older, ["1", "x"]) == {"1": None, "x": None}
    assert await grids.image_quality(db, older, ["1"]) == {"1": []}
    assert await grids.xray_centring(db, older, ["1"]) == {"1": []}
    assert await downstream.mr_runs(db, older, ["1"]) == {"1": []}
    assert await downstream.phasing(db, older, ["1"]) == {"1": []}


def test_a_grid_linked_only_to_its_group_is_still_found():
    """Older GridInfo rows (before ISPyB added GridInfo.dataCollectionId) name only the group."""
    from site_adapter.backends.ispyb.grids import _grid_sql
    from site_adapter.backends.ispyb.schema_check import SchemaInfo

    group_only = SchemaInfo(
        version="old",
        columns={
            "GridInfo": frozenset({"gridinfoid", "datacollectiongroupid", "steps_x", "steps_y", "dx_mm"})
        },
    )
    statement = _grid_sql(group_only, 2)
    assert "g.`dataCollectionGroupId` = dc.`dataCollectionGroupId` WHERE" in statement
    assert "g.`dataCollectionId`" not in statement and "micronsPerPixelX" not in statement
    assert "UNION ALL" not in statement  # one way to link: one SELECT


async def test_a_grid_named_only_by_its_group(phased):
    backend, dsn = phased
    (want,) = await sql(
        dsn,
        "SELECT g.* FROM DataCollection dc JOIN GridInfo g ON g.dataCollectionGroupId = dc.dataCollectionGroupId"
        " WHERE dc.dataCollectionId = 1052494 AND g.dataCollectionId IS NULL",
    )
    got = await backend.grids_by_collection(["1052494", "6017405"])
    grid = got["1052494"]
    assert grid is not None and grid.local_id == str(want["gridInfoId"])
    assert (grid.steps_x, grid.steps_y, grid.orientation, grid.snaked) == (
        want["steps_x"],
        want["steps_y"],
        want["orientation"],
        bool(want["snaked"]),
    )
    assert grid.step_size_y == pytest.approx(want["dy_mm"] * 1000)
    assert got["6017405"] is not None and got["6017405"].local_id == "1281212"  # its own row, as before
