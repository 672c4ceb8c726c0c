"""CONTRACT.md's query through the site adapter app over the ISPyB fixture: the backend's answers survive."""

from __future__ import annotations

import httpx
import pytest

from mx_schema.examples import CONTRACT_QUERY
from site_adapter.app import create_app


@pytest.fixture(scope="module")
async def gql(ispyb):
    app = create_app(ispyb, site="dls", manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:

        async def post(variables: dict) -> dict:
            response = await client.post("/graphql", json={"query": CONTRACT_QUERY, "variables": variables})
            assert response.status_code < 500, response.text
            return response.json()

        yield post


async def test_tlys_jan_4_through_graphql(gql):
    body = await gql({"filter": {"sampleName": "tlys_jan_4"}, "first": 20})
    assert "errors" not in body, body
    conn = body["data"]["dataCollections"]
    assert conn["totalCount"] == 2 and conn["pageInfo"]["hasNextPage"] is False
    newest, oldest = (e["node"] for e in conn["edges"])
    assert (newest["localId"], oldest["localId"]) == ("6017405", "993677")
    assert newest["site"] == "dls" and newest["detector"] is None and newest["processing"] == []
    assert newest["bestProcessing"] is None
    assert oldest["session"] == {"visit": "cm14451-1", "proposal": "cm14451", "beamline": "i03"}
    assert oldest["sample"]["name"] == "tlys_jan_4" and oldest["sample"]["barcode"] == "HA00AU3712"
    assert oldest["sample"]["protein"]["acronym"] == "therm"
    assert oldest["transmission"] == pytest.approx(40.1936)
    assert (oldest["beamCentreX"], oldest["beamCentreY"]) == (pytest.approx(215.62), pytest.approx(208.978))
    assert [p["program"] for p in oldest["processing"]] == [
        "fast_dp",
        "xia2 3dii",
        "xia2 dials",
        "autoPROC",
        "xia2 dials",
        "xia2 3dii",
    ]
    assert oldest["processing"][0]["overall"]["ccHalf"] == pytest.approx(0.999)  # fast_dp stored 99.9
    assert oldest["processing"][0]["outer"]["ccHalf"] == pytest.approx(0.917)
    best = oldest["bestProcessing"]
    assert (best["program"], best["spaceGroup"]) == ("xia2 dials", "P 61 2 2")
    assert best["overall"]["resolutionHigh"] == pytest.approx(1.42)


async def test_session_zero_and_zero_date_through_graphql(gql):
    body = await gql({"filter": {"visit": "mx90001-1"}, "first": 5})
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["dataCollections"]["edges"]]
    assert [n["localId"] for n in nodes] == ["990004", "990001"]
    assert nodes[1]["startTime"] is None and nodes[1]["session"]["visit"] == "mx90001-1"
    assert nodes[1]["detector"]["model"] == "Excalibur"


@pytest.fixture(scope="module")
async def raw_gql(ispyb):
    app = create_app(ispyb, site="dls", manage_backend=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://dls.test"
    ) as client:

        async def post(query: str, variables: dict) -> dict:
            return (await client.post("/graphql", json={"query": query, "variables": variables})).json()

        yield post


async def test_reprocessing_inputs_from_real_ispyb_rows(raw_gql):
    """The fixture has no Detector rows, so 993677 gets a MISSING_GEOMETRY error naming the detector
    (not a wrong file) while its other fields still answer; the overlay's 990002 has a detector."""
    from mx_schema.ids import encode_id

    q = """query($id: ID!) { node(id: $id) { ... on DataCollection { localId wavelength detectorDistance
             reprocessing { xdsInp mosflm } } } }"""
    body = await raw_gql(q, {"id": encode_id("dls", "DataCollection", "993677")})
    err = body["errors"][0]
    assert err["extensions"]["code"] == "MISSING_GEOMETRY" and "detector" in err["message"]
    assert body["data"]["node"]["localId"] == "993677" and body["data"]["node"]["reprocessing"] is None
    body = await raw_gql(q, {"id": encode_id("dls", "DataCollection", "990002")})
    assert "errors" not in body, body
    node = body["data"]["node"]
    xds = node["reprocessing"]["xdsInp"]
    assert f"{node['detectorDistance']:.2f}" in xds
    assert f"{node['wavelength']:.4f}" in xds


async def test_sample_keys_filter_by_pin_barcode(raw_gql):
    q = "query($f: DataCollectionFilter) { dataCollections(filter: $f) { totalCount edges { node { localId sample { barcode } } } } }"
    body = await raw_gql(q, {"f": {"sampleKeys": {"barcodes": ["OV00000002"]}}})
    assert "errors" not in body, body
    conn = body["data"]["dataCollections"]
    assert conn["totalCount"] >= 1
    assert {e["node"]["sample"]["barcode"] for e in conn["edges"]} == {"OV00000002"}
    body = await raw_gql(q, {"f": {"sampleKeys": {"barcodes": []}}})
    assert body["data"]["dataCollections"]["totalCount"] == 0


async def test_unit_cell_filter_on_real_results(raw_gql):
    from mx_schema.ids import encode_id

    best = await raw_gql(
        "query($id: ID!) { node(id: $id) { ... on DataCollection { processing { status cell { a b c alpha beta gamma } } } } }",
        {"id": encode_id("dls", "DataCollection", "993677")},
    )
    cell = next(
        p["cell"] for p in best["data"]["node"]["processing"] if p["status"] == "SUCCESS" and p["cell"]
    )
    q = "query($f: DataCollectionFilter) { dataCollections(filter: $f) { edges { node { localId } } } }"
    body = await raw_gql(q, {"f": {"cell": cell | {"lengthTolerance": 0.5}}})
    assert "errors" not in body, body
    assert "993677" in {e["node"]["localId"] for e in body["data"]["dataCollections"]["edges"]}
    far = {k: (v * 0.5 if k in "abc" else v) for k, v in cell.items()}
    body = await raw_gql(q, {"f": {"cell": far}})
    assert body["data"]["dataCollections"]["edges"] == []
