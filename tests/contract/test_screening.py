"""Characterisation, energy scans and XRF spectra on every implementation (issue 16, since 1.2.0).

The shape and units are shared: completeness and transmission in %, energies in eV, an energy scan's
marked points sorted by energy and equal to its peak and inflection. At the ISPyB site and through the
hub, the values are Diamond's, read from data.sql by SQL in the test.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncmy
import pytest

from tests.fixtures.contract import ADMIN, ANONYMOUS, Who
from tests.fixtures.mariadb import connect_kwargs

COLLECTIONS = """query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 100) { edges { node {
  site localId dose
  screenings { localId program outputs { mosaicity lattices { spaceGroup }
    strategies { transmission completeness wedges { completeness subWedges { transmission completeness axisStart } } } } }
  session { visit energyScans { localId element startEnergy peakEnergy inflectionEnergy transmission
    points { kind energy fPrime } } xrfSpectra { localId energy transmission } } } } } }"""


def _percent(v: float | None) -> None:
    assert v is None or 0 <= v <= 100


async def _check_shape(edges: list[dict]) -> int:
    seen = 0
    for e in edges:
        node = e["node"]
        for s in node["screenings"]:
            seen += 1
            for o in s["outputs"]:
                for st in o["strategies"]:
                    _percent(st["transmission"])
                    _percent(st["completeness"])
                    for w in st["wedges"]:
                        _percent(w["completeness"])
                        for sw in w["subWedges"]:
                            _percent(sw["transmission"])
                            _percent(sw["completeness"])
        for scan in (node["session"] or {}).get("energyScans") or ():
            _percent(scan["transmission"])
            assert scan["startEnergy"] is None or scan["startEnergy"] > 1000  # eV, never keV
            energies = [p["energy"] for p in scan["points"]]
            assert energies == sorted(energies)
            marks = {p["kind"]: p["energy"] for p in scan["points"]}
            assert (
                marks.get("peak") == scan["peakEnergy"]
                and marks.get("inflection") == scan["inflectionEnergy"]
            )
        for x in (node["session"] or {}).get("xrfSpectra") or ():
            _percent(x["transmission"])
    return seen


@pytest.mark.parametrize("who", [ADMIN, ANONYMOUS], ids=["admin", "anonymous"])
async def test_screening_shape_and_units_on_every_implementation(impl, who: Who):
    """Anonymous callers exercise the access rule's SQL on every new relation."""
    body = await impl.query(COLLECTIONS, {"f": None}, who)
    assert "errors" not in body, body.get("errors")
    await _check_shape(body["data"]["dataCollections"]["edges"])


async def _ispyb_rows(dsn: str, sql: str, *args):
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())
    finally:
        conn.close()


@pytest.fixture(params=["contract_ispyb", "contract_hub"], ids=["ispyb", "hub"])
def diamond(request: pytest.FixtureRequest):
    """The ISPyB site, reached directly and through the hub (set up in a sync fixture, as `impl` is)."""
    return request.getfixturevalue(request.param)


async def test_diamond_screenings_and_scans_at_the_site_and_through_the_hub(diamond, ispyb_dsn):
    impl = diamond
    screenings = await _ispyb_rows(
        ispyb_dsn,
        "SELECT s.dataCollectionId AS dc, s.screeningId, s.programVersion, o.mosaicity, l.spaceGroup"
        " FROM Screening s JOIN ScreeningOutput o ON o.screeningId = s.screeningId"
        " LEFT JOIN ScreeningOutputLattice l ON l.screeningOutputId = o.screeningOutputId"
        " ORDER BY s.dataCollectionId, s.screeningId",
    )
    scans = await _ispyb_rows(
        ispyb_dsn,
        "SELECT e.energyScanId, e.element, e.peakEnergy, e.inflectionEnergy, e.transmissionFactor"
        " FROM EnergyScan e JOIN BLSession s ON s.sessionId = e.sessionId"
        " WHERE s.proposalId = (SELECT proposalId FROM Proposal WHERE proposalCode = 'cm' AND proposalNumber = '14451')"
        " AND s.visit_number = 2 ORDER BY e.energyScanId",
    )
    body = await impl.query(COLLECTIONS, {"f": {"visit": "cm14451-2"}}, ADMIN)
    assert "errors" not in body, body.get("errors")
    edges = [e for e in body["data"]["dataCollections"]["edges"] if e["node"]["site"] == "dls"]
    assert await _check_shape(edges) == len(screenings)
    got = {(int(e["node"]["localId"]), int(s["localId"])): s for e in edges for s in e["node"]["screenings"]}
    assert sorted(got) == [(r["dc"], r["screeningId"]) for r in screenings]
    for r in screenings:
        s = got[(r["dc"], r["screeningId"])]
        assert s["program"] == r["programVersion"]
        assert s["outputs"][0]["mosaicity"] == pytest.approx(r["mosaicity"])
        assert s["outputs"][0]["lattices"][0]["spaceGroup"] == r["spaceGroup"]
    session = edges[0]["node"]["session"]
    assert session["visit"] == "cm14451-2"
    assert [int(x["localId"]) for x in session["energyScans"]] == [r["energyScanId"] for r in scans]
    for x, r in zip(session["energyScans"], scans, strict=True):
        assert x["element"] == r["element"]
        if r["peakEnergy"] is not None:
            assert x["peakEnergy"] == pytest.approx(r["peakEnergy"])  # eV in the store and the schema
        if r["transmissionFactor"] is not None:
            assert x["transmission"] == pytest.approx(
                r["transmissionFactor"] * 100
            )  # a fraction in the store
    for e in edges:  # ISPyB has no MX dose column (tables.sql: totalAbsorbedDose is e-/Å² for EM)
        assert e["node"]["dose"] is None


async def test_diamond_plans_and_sample_scans_at_the_site_and_through_the_hub(diamond, ispyb_dsn):
    impl = diamond
    plans = await _ispyb_rows(
        ispyb_dsn,
        "SELECT b.name, p.experimentKind, p.requiredResolution, p.preferredBeamSizeX, p.exposureTime"
        " FROM BLSample b JOIN DiffractionPlan p ON p.diffractionPlanId = b.diffractionPlanId ORDER BY b.name",
    )
    assert plans
    query = """query($n: String) { samples(filter: {name: $n}) { edges { node { site name
      diffractionPlan { experimentKind requiredResolution preferredBeamSizeX exposureTime } } } } }"""
    for want in plans:
        body = await impl.query(query, {"n": want["name"]}, ADMIN)
        assert "errors" not in body, body.get("errors")
        (node,) = [e["node"] for e in body["data"]["samples"]["edges"] if e["node"]["site"] == "dls"]
        plan = node["diffractionPlan"]
        assert plan["experimentKind"] == want["experimentKind"]
        assert plan["requiredResolution"] == pytest.approx(want["requiredResolution"])
        assert plan["preferredBeamSizeX"] == pytest.approx(want["preferredBeamSizeX"])  # µm, as stored
        assert plan["exposureTime"] == pytest.approx(want["exposureTime"])
    scans = await _ispyb_rows(
        ispyb_dsn,
        "SELECT b.name, e.energyScanId, e.element FROM EnergyScan e JOIN BLSample b ON b.blSampleId = e.blSampleId"
        " ORDER BY e.energyScanId",
    )
    spectra = await _ispyb_rows(
        ispyb_dsn,
        "SELECT b.name, x.xfeFluorescenceSpectrumId AS id FROM XFEFluorescenceSpectrum x"
        " JOIN BLSample b ON b.blSampleId = x.blSampleId ORDER BY x.xfeFluorescenceSpectrumId",
    )
    assert scans and spectra
    query = """query($n: String) { samples(filter: {name: $n}) { edges { node { site
      energyScans { localId element } xrfSpectra { localId } } } } }"""
    for sample in sorted({r["name"] for r in scans + spectra}):
        body = await impl.query(query, {"n": sample}, ADMIN)
        assert "errors" not in body, body.get("errors")
        (node,) = [e["node"] for e in body["data"]["samples"]["edges"] if e["node"]["site"] == "dls"]
        assert [(int(x["localId"]), x["element"]) for x in node["energyScans"]] == [
            (r["energyScanId"], r["element"]) for r in scans if r["name"] == sample
        ]
        assert [int(x["localId"]) for x in node["xrfSpectra"]] == [
            r["id"] for r in spectra if r["name"] == sample
        ]
