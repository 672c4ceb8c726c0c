"""DataCollection.reprocessing served by a site: the generators fed from the common model."""

from __future__ import annotations

import re

import pytest


async def test_xds_dials_and_mosflm_from_a_native_collection(esrf_gql):
    page = await esrf_gql("""{ dataCollections(filter: {experimentType: "OSC"}, first: 1) { edges { node {
        id wavelength detectorDistance beamCentreX beamCentreY axisStart axisRange numberOfImages fileTemplate
        detector { pixelSizeX model } bestProcessing { spaceGroup }
        reprocessing { xdsInp dialsImport mosflm } } } } }""")
    assert "errors" not in page, page
    node = page["data"]["dataCollections"]["edges"][0]["node"]
    xds = node["reprocessing"]["xdsInp"]
    value = lambda key: re.search(rf"{key}=\s*([^\s!]+)", xds).group(1)  # noqa: E731
    assert float(value("X-RAY_WAVELENGTH")) == pytest.approx(node["wavelength"], abs=1e-5)
    assert float(value("DETECTOR_DISTANCE")) == pytest.approx(node["detectorDistance"], abs=0.01)
    assert float(value("OSCILLATION_RANGE")) == pytest.approx(node["axisRange"], abs=1e-4)
    # ORGX is the beam centre in pixels along the fast axis
    assert float(value("ORGX")) == pytest.approx(
        node["beamCentreX"] / node["detector"]["pixelSizeX"], abs=0.02
    )
    assert re.search(rf"DATA_RANGE=\s*1\s+{node['numberOfImages']}\b", xds)
    assert "dials.import" in node["reprocessing"]["dialsImport"]
    assert str(node["wavelength"]) in node["reprocessing"]["dialsImport"]
    assert "WAVELENGTH" in node["reprocessing"]["mosflm"].upper()


async def test_cell_from_processing_on_request(esrf_gql):
    q = """query($c: Boolean!) { dataCollections(filter: {experimentType: "OSC", resolutionBetterThan: 3}, first: 1) {
        edges { node { bestProcessing { spaceGroup } reprocessing(cellFromProcessing: $c) { xdsInp } } } } }"""
    without = (await esrf_gql(q, {"c": False}))["data"]["dataCollections"]["edges"][0]["node"]
    with_cell = (await esrf_gql(q, {"c": True}))["data"]["dataCollections"]["edges"][0]["node"]
    assert re.search(r"SPACE_GROUP_NUMBER=\s*0\b", without["reprocessing"]["xdsInp"])
    assert not re.search(r"SPACE_GROUP_NUMBER=\s*0\b", with_cell["reprocessing"]["xdsInp"])
