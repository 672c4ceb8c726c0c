"""Every real collection of Diamond's ISPyB fixture gets reprocessing input or a refusal that names why.

The fixture has no Detector rows at all (detectorId NULL, or 78 which does not exist), so without the
site's beamline table every collection was MISSING_GEOMETRY. Expected values come from SQL on the
fixture itself (DataCollection, DataCollectionGroup.experimentType), not from our code.
"""

from __future__ import annotations

import re

import httpx
import pytest

from site_adapter.app import create_app
from site_adapter.graphql.context import SiteServices
from site_adapter.reprocess import Overrides

QUERY = """query($id: ID!) { node(id: $id) { ... on DataCollection { localId experimentType
  reprocessing { xdsInp dialsImport } } } }"""


@pytest.fixture(scope="module")
async def post(ispyb):
    app = create_app(
        ispyb, site="dls", manage_backend=False, services=SiteServices(detector_overrides=Overrides.demo())
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:

        async def call(query: str, variables: dict | None = None) -> dict:
            response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
            assert response.status_code < 500, response.text
            return response.json()

        yield call


async def fixture_rows(dsn: str) -> list[tuple]:
    import asyncmy

    from tests.fixtures.mariadb import connect_kwargs

    conn = await asyncmy.connect(**connect_kwargs(dsn), db=dsn.rsplit("/", 1)[1])
    try:
        async with conn.cursor() as cur:
            await cur.execute(
                "SELECT dc.dataCollectionId, dcg.experimentType, dc.axisRange, dc.numberOfImages, dc.wavelength,"
                " dc.detectorDistance, dc.xBeam, dc.yBeam, bs.beamLineName FROM DataCollection dc"
                " JOIN DataCollectionGroup dcg USING (dataCollectionGroupId)"
                " LEFT JOIN BLSession bs ON bs.sessionId = dcg.sessionId ORDER BY dc.dataCollectionId"
            )
            return list(await cur.fetchall())
    finally:
        conn.close()


async def test_every_fixture_collection_gets_input_or_a_named_refusal(post, ispyb_dsn) -> None:
    rows = await fixture_rows(ispyb_dsn)
    # data.sql's six i03 collections (the test overlay adds rows of other beamlines)
    assert sum(1 for r in rows if r[8] == "i03") == 6
    from mx_schema.ids import encode_id

    served = 0
    for dc_id, etype, osc, n, wavelength, distance, xbeam, ybeam, beamline in rows:
        body = await post(QUERY, {"id": encode_id("dls", "DataCollection", str(dc_id))})
        node = body["data"]["node"]
        assert node["localId"] == str(dc_id)
        codes = [e["extensions"]["code"] for e in body.get("errors", [])]
        if beamline != "i03":  # not in the demo table: a refusal that names what is missing, or input
            assert codes in ([], ["MISSING_GEOMETRY"]), body
            if codes:
                assert "missing" in body["errors"][0]["message"]
            continue
        if etype == "Mesh":
            # a grid scan: no XDS job, said so with a code; DIALS still gets its import
            assert codes == ["NOT_ROTATION"], body
            assert "grid scan" in body["errors"][0]["message"]
            dials = node["reprocessing"]["dialsImport"]
            command = [line for line in dials.splitlines() if not line.startswith("#")]
            assert command[0].startswith("dials.import") and "geometry.scan.oscillation" not in dials
            continue
        assert codes == [], body
        xds = node["reprocessing"]["xdsInp"]
        value = lambda key, xds=xds: re.search(rf"{re.escape(key)}=\s*([^\s!]+)", xds).group(1)  # noqa: E731
        assert float(value("X-RAY_WAVELENGTH")) == pytest.approx(float(wavelength), abs=1e-5)
        assert float(value("DETECTOR_DISTANCE")) == pytest.approx(float(distance), abs=1e-3)
        assert float(value("OSCILLATION_RANGE")) == pytest.approx(float(osc), abs=1e-4)
        assert float(value("ORGX")) == pytest.approx(float(xbeam) / 0.172, abs=0.01)
        assert float(value("ORGY")) == pytest.approx(float(ybeam) / 0.172, abs=0.01)
        assert re.search(rf"DATA_RANGE=\s*1\s+{n}\b", xds)
        # the beamline table's detector (2016 at i03: PILATUS3 6M, header overload 91795), anomalous data
        assert "DETECTOR= PILATUS" in xds and "OVERLOAD= 91795" in xds
        assert "from the site's beamline table for i03" in xds
        assert "FRIEDEL'S_LAW= FALSE" in xds  # every rotation collection of the fixture is SAD
        served += 1
    assert served == 5


async def test_without_the_table_the_refusal_names_the_detector(ispyb, ispyb_dsn) -> None:
    app = create_app(ispyb, site="dls", manage_backend=False)
    from mx_schema.ids import encode_id

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:
        response = await client.post(
            "/graphql",
            json={"query": QUERY, "variables": {"id": encode_id("dls", "DataCollection", "993677")}},
        )
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == "MISSING_GEOMETRY"
    assert "missing detector" in body["errors"][0]["message"]
