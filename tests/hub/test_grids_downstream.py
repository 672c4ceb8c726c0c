"""Grid scans, per-image quality and downstream results through the hub (issue 16): an ISPyB site over
Diamond's fixture and a native demo site behind one hub; expectations read by SQL on each store."""

from __future__ import annotations

from contextlib import ExitStack
from typing import Any
from urllib.parse import urlsplit

import asyncmy
import asyncpg
import pytest

from tests.fixtures.contract import secured_ispyb_app
from tests.fixtures.hub import serve_hub, trusted_site_app
from tests.fixtures.mariadb import connect_kwargs
from tests.fixtures.sites import serve_in_thread

FIELDS = """localId numberOfImages
  grid { stepsX stepsY stepSizeX stepSizeY snaked }
  imageQuality { imageNumber spotTotal method1Resolution }
  xrayCentring { localId status centreOfMassX }
  processing { localId
    integrations { localId startImageNumber endImageNumber refinedBeamCentreX }
    mrRuns { localId program status rEnd rFreeEnd logFiles }
    phasing { localId figureOfMerit } }"""


async def mariadb_rows(dsn: str, query: str) -> list[dict[str, Any]]:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(query)
            return list(await cur.fetchall())
    finally:
        conn.close()


@pytest.fixture
async def hub_over_two_sites(hub_dsn, ispyb_dsn, esrf_demo_dsn):
    with ExitStack() as stack:
        dls = stack.enter_context(serve_in_thread(secured_ispyb_app(ispyb_dsn, "dls")))
        esrf = stack.enter_context(serve_in_thread(trusted_site_app(esrf_demo_dsn, "esrf")))
        hub = stack.enter_context(serve_hub(hub_dsn))
        for name, url in (("dls", dls), ("esrf", esrf)):
            body = await hub.register(name, url)
            assert "errors" not in body, body
        yield hub
        await hub.http.aclose()


async def test_ispyb_grid_quality_and_dimple_through_the_hub(hub_over_two_sites, ispyb_dsn):
    body = await hub_over_two_sites.query(
        f'{{ dataCollections(filter: {{site: "dls"}}, first: 50) {{ edges {{ node {{ {FIELDS} }} }} }} }}',
        admin=True,
    )
    assert "errors" not in body, body
    nodes = {e["node"]["localId"]: e["node"] for e in body["data"]["dataCollections"]["edges"]}
    (grid,) = await mariadb_rows(ispyb_dsn, "SELECT * FROM GridInfo")
    served = nodes[str(grid["dataCollectionId"])]["grid"]
    assert (served["stepsX"], served["stepsY"]) == (grid["steps_x"], grid["steps_y"])
    assert served["stepSizeX"] == pytest.approx(grid["dx_mm"] * 1000)  # mm in ISPyB, µm served
    quality = await mariadb_rows(
        ispyb_dsn,
        "SELECT dataCollectionId AS dc, imageNumber, spotTotal FROM ImageQualityIndicators ORDER BY dc, imageNumber",
    )
    for dc in {str(r["dc"]) for r in quality}:
        assert [(q["imageNumber"], q["spotTotal"]) for q in nodes[dc]["imageQuality"]] == [
            (r["imageNumber"], r["spotTotal"]) for r in quality if str(r["dc"]) == dc
        ]
    runs = await mariadb_rows(
        ispyb_dsn,
        "SELECT m.mxMRRunId, m.rFreeValueEnd, api.dataCollectionId AS dc, m.autoProcScalingId AS sc"
        " FROM MXMRRun m JOIN AutoProcScaling_has_Int shi ON shi.autoProcScalingId = m.autoProcScalingId"
        " JOIN AutoProcIntegration api ON api.autoProcIntegrationId = shi.autoProcIntegrationId ORDER BY m.mxMRRunId",
    )
    assert runs
    for run in runs:
        result = {p["localId"]: p for p in nodes[str(run["dc"])]["processing"]}[str(run["sc"])]
        served_run = {m["localId"]: m for m in result["mrRuns"]}[str(run["mxMRRunId"])]
        if run["rFreeValueEnd"] is None:
            assert served_run["rFreeEnd"] is None
        else:
            assert served_run["rFreeEnd"] == pytest.approx(run["rFreeValueEnd"], rel=1e-6)


async def test_native_grid_and_integrations_through_the_hub(hub_over_two_sites, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        dc = await conn.fetchval(
            "SELECT data_collection_id FROM xray_centring_result WHERE status = 'SUCCESS' ORDER BY id LIMIT 1"
        )
        (grid,) = await conn.fetch("SELECT * FROM grid_scan WHERE data_collection_id = $1", dc)
        spots = await conn.fetch(
            "SELECT spot_total FROM image_quality WHERE data_collection_id = $1 ORDER BY image_number", dc
        )
        (centring,) = await conn.fetch("SELECT * FROM xray_centring_result WHERE data_collection_id = $1", dc)
        rotation = await conn.fetchval(
            "SELECT pr.data_collection_id FROM integration i JOIN processing_result pr ON pr.id = i.processing_result_id"
            " ORDER BY i.id LIMIT 1"
        )
        integrations = await conn.fetch(
            "SELECT i.* FROM integration i WHERE i.data_collection_id = $1 ORDER BY i.id", rotation
        )
    finally:
        await conn.close()
    from mx_schema.ids import encode_id

    body = await hub_over_two_sites.query(
        f"""query($a: ID!, $b: ID!) {{ a: node(id: $a) {{ ... on DataCollection {{ {FIELDS} }} }}
                                     b: node(id: $b) {{ ... on DataCollection {{ {FIELDS} }} }} }}""",
        {
            "a": encode_id("esrf", "DataCollection", str(dc)),
            "b": encode_id("esrf", "DataCollection", str(rotation)),
        },
        admin=True,
    )
    assert "errors" not in body, body
    a, b = body["data"]["a"], body["data"]["b"]
    assert (a["grid"]["stepsX"], a["grid"]["stepsY"], a["grid"]["snaked"]) == (
        grid["steps_x"],
        grid["steps_y"],
        grid["snaked"],
    )
    assert [q["spotTotal"] for q in a["imageQuality"]] == [r["spot_total"] for r in spots]
    assert [(x["localId"], x["status"]) for x in a["xrayCentring"]] == [(str(centring["id"]), "SUCCESS")]
    served = [i for p in b["processing"] for i in p["integrations"]]
    assert [i["localId"] for i in served] == [str(r["id"]) for r in integrations]
    assert [i["endImageNumber"] for i in served] == [r["end_image_number"] for r in integrations]
