"""Characterisation, energy scans, XRF spectra, plans and dose over the native demo store (issue 16).

Every expected value is read from the store by SQL in the test; the GraphQL answer must agree.
"""

from __future__ import annotations

import json

import asyncpg
import pytest

SCREENINGS = """query($f: DataCollectionFilter, $n: Int) { dataCollections(filter: $f, first: $n) { edges { node {
  localId experimentType dose
  screenings { localId program shortComments comments notes
    outputs { localId indexingSuccess strategySuccess mosaicity spotsFound beamShiftX dose
      lattices { spaceGroup cell { a b c alpha beta gamma } }
      strategies { program anomalous exposureTime resolution transmission completeness multiplicity
        wedges { number completeness numberOfImages
          subWedges { rotationAxis axisStart axisEnd oscillationRange exposureTime transmission numberOfImages } } } } }
} } } }"""


async def _fetch(dsn: str, sql: str, *args):
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_screenings_of_a_characterisation_match_the_store(esrf_gql, esrf_demo_dsn):
    rows = await _fetch(
        esrf_demo_dsn,
        """SELECT sc.data_collection_id AS dc, sc.id, sc.program, sc.short_comments, sc.comments,
                  o->>'mosaicity' AS mosaicity, (o->>'spots_found')::int AS spots,
                  o->'lattices'->0->>'space_group' AS sg, (o->'lattices'->0->'cell'->>'a')::float8 AS a,
                  o->'strategies'->0 AS st
           FROM screening sc, jsonb_array_elements(sc.outputs) o
           WHERE sc.data_collection_id = (SELECT min(data_collection_id) FROM screening) ORDER BY sc.id""",
    )
    assert len(rows) == 3  # EDNA's native, anomalous and gentle strategies
    dc = rows[0]["dc"]
    (sample,) = await _fetch(
        esrf_demo_dsn,
        "SELECT s.name FROM data_collection dc JOIN sample s ON s.id = dc.sample_id WHERE dc.id = $1",
        dc,
    )
    body = await esrf_gql(SCREENINGS, {"f": {"sampleName": sample["name"]}, "n": 50})
    assert "errors" not in body, body
    (node,) = [e["node"] for e in body["data"]["dataCollections"]["edges"] if e["node"]["localId"] == str(dc)]
    assert node["experimentType"] == "Characterization"
    got = node["screenings"]
    assert [s["localId"] for s in got] == [str(r["id"]) for r in rows]
    for s, want in zip(got, rows, strict=True):
        assert (s["program"], s["shortComments"], s["comments"]) == (
            want["program"],
            want["short_comments"],
            want["comments"],
        )
        (out,) = s["outputs"]
        assert out["mosaicity"] == pytest.approx(float(want["mosaicity"]))
        assert out["spotsFound"] == want["spots"]
        assert out["lattices"][0]["spaceGroup"] == want["sg"]
        assert out["lattices"][0]["cell"]["a"] == pytest.approx(want["a"])
        st = json.loads(want["st"])
        (strategy,) = out["strategies"]
        assert strategy["program"] == st["program"] == "BEST"
        assert strategy["anomalous"] == st["anomalous"]
        assert strategy["transmission"] == pytest.approx(st["transmission"])
        sub = strategy["wedges"][0]["subWedges"][0]
        want_sub = st["wedges"][0]["sub_wedges"][0]
        assert sub["axisStart"] == pytest.approx(want_sub["axis_start"])
        assert sub["axisEnd"] == pytest.approx(want_sub["axis_end"])
        assert sub["numberOfImages"] == want_sub["number_of_images"]
        assert 0 < sub["transmission"] <= 100 and 0 < strategy["completeness"] <= 100


async def test_dose_is_the_stored_mgy(esrf_gql, esrf_demo_dsn):
    body = await esrf_gql("{ dataCollections(first: 20) { edges { node { localId dose } } } }")
    got = {int(e["node"]["localId"]): e["node"]["dose"] for e in body["data"]["dataCollections"]["edges"]}
    rows = await _fetch(esrf_demo_dsn, "SELECT id, dose FROM data_collection WHERE id = ANY($1)", list(got))
    assert len(rows) == len(got) == 20
    assert any(r["dose"] is not None for r in rows), "the demo gives collections a dose"
    for r in rows:
        assert got[r["id"]] == (None if r["dose"] is None else pytest.approx(r["dose"]))


async def test_energy_scans_xrf_and_plans_by_session_and_sample(esrf_gql, esrf_demo_dsn):
    (scan,) = await _fetch(
        esrf_demo_dsn,
        """SELECT es.*, se.visit, s.name AS sample_name FROM energy_scan es JOIN session se ON se.id = es.session_id
           JOIN sample s ON s.id = es.sample_id ORDER BY es.id LIMIT 1""",
    )
    xrf = await _fetch(
        esrf_demo_dsn, "SELECT * FROM xrf_spectrum WHERE session_id = $1 ORDER BY id", scan["session_id"]
    )
    body = await esrf_gql(
        """query($v: String) { sessions(filter: {visit: $v}) { edges { node {
             energyScans { localId element edge startEnergy endEnergy peakEnergy peakFPrime peakFDoublePrime
               inflectionEnergy inflectionFPrime inflectionFDoublePrime transmission beamSizeX chooch_file: choochFile
               points { kind energy fPrime fDoublePrime } }
             xrfSpectra { localId energy transmission elements spectrumFile } } } } }""",
        {"v": scan["visit"]},
    )
    assert "errors" not in body, body
    (session,) = [e["node"] for e in body["data"]["sessions"]["edges"]]
    (es,) = session["energyScans"]
    assert es["localId"] == str(scan["id"])
    assert (es["element"], es["edge"]) == (scan["element"], scan["edge"]) == ("Se", "K")
    for field, column in (
        ("startEnergy", "start_energy"),
        ("endEnergy", "end_energy"),
        ("peakEnergy", "peak_energy"),
        ("peakFPrime", "peak_f_prime"),
        ("peakFDoublePrime", "peak_f_double_prime"),
        ("inflectionEnergy", "inflection_energy"),
        ("inflectionFPrime", "inflection_f_prime"),
        ("inflectionFDoublePrime", "inflection_f_double_prime"),
        ("transmission", "transmission"),
        ("beamSizeX", "beam_size_x"),
    ):
        assert es[field] == pytest.approx(scan[column]), field
    assert es["chooch_file"] == scan["chooch_file"]
    marks = {p["kind"]: p for p in es["points"]}
    assert marks["peak"]["fDoublePrime"] == pytest.approx(scan["peak_f_double_prime"])
    assert marks["inflection"]["energy"] == pytest.approx(scan["inflection_energy"])
    assert [x["localId"] for x in session["xrfSpectra"]] == [str(r["id"]) for r in xrf]
    assert session["xrfSpectra"][0]["elements"] == list(xrf[0]["elements"])
    assert session["xrfSpectra"][0]["energy"] == pytest.approx(xrf[0]["energy"])

    plans = await _fetch(
        esrf_demo_dsn,
        """SELECT s.name, dp.* FROM sample s JOIN diffraction_plan dp ON dp.id = s.diffraction_plan_id
           WHERE s.id = $1""",
        scan["sample_id"],
    )
    body = await esrf_gql(
        """query($n: String) { samples(filter: {name: $n}) { edges { node { localId
             energyScans { localId } xrfSpectra { localId }
             diffractionPlan { experimentKind requiredResolution requiredCompleteness requiredMultiplicity
               anomalous preferredBeamSizeX numberOfPositions } } } } }""",
        {"n": scan["sample_name"]},
    )
    assert "errors" not in body, body
    (sample,) = [
        e["node"] for e in body["data"]["samples"]["edges"] if e["node"]["localId"] == str(scan["sample_id"])
    ]
    assert [e["localId"] for e in sample["energyScans"]] == [
        str(r["id"])
        for r in await _fetch(
            esrf_demo_dsn, "SELECT id FROM energy_scan WHERE sample_id = $1 ORDER BY id", scan["sample_id"]
        )
    ]
    if plans:
        p = plans[0]
        plan = sample["diffractionPlan"]
        assert plan["experimentKind"] == p["experiment_kind"]
        assert plan["requiredResolution"] == pytest.approx(p["required_resolution"])
        assert plan["anomalous"] == p["anomalous"]
    else:
        assert sample["diffractionPlan"] is None


async def test_a_collections_plan_is_the_one_it_was_made_under(esrf_gql, esrf_demo_dsn):
    rows = await _fetch(
        esrf_demo_dsn,
        """SELECT dc.id, dp.experiment_kind, dp.required_resolution FROM data_collection dc
           LEFT JOIN diffraction_plan dp ON dp.id = dc.diffraction_plan_id ORDER BY dc.sort_time DESC, dc.id DESC LIMIT 60""",
    )
    body = await esrf_gql(
        "{ dataCollections(first: 60) { edges { node { localId diffractionPlan { experimentKind requiredResolution } } } } }"
    )
    got = [
        (e["node"]["localId"], e["node"]["diffractionPlan"]) for e in body["data"]["dataCollections"]["edges"]
    ]
    assert [g[0] for g in got] == [str(r["id"]) for r in rows]
    assert any(r["experiment_kind"] for r in rows), "the demo plans some collections"
    for (_, plan), r in zip(got, rows, strict=True):
        if r["experiment_kind"] is None:
            assert plan is None
        else:
            assert plan["experimentKind"] == r["experiment_kind"]
            assert plan["requiredResolution"] == (
                None if r["required_resolution"] is None else pytest.approx(r["required_resolution"])
            )


async def test_a_page_of_100_batches_the_new_relations(esrf_gql, esrf_backend):
    q = """query($n: Int) { dataCollections(first: $n) { edges { node { localId dose diffractionPlan { name }
             screenings { outputs { strategies { wedges { subWedges { axisStart } } } } }
             session { energyScans { peakEnergy } xrfSpectra { energy } }
             sample { energyScans { element } xrfSpectra { energy } diffractionPlan { experimentKind } } } } } }"""
    counts = {}
    for size in (10, 100):
        before = esrf_backend.statements
        body = await esrf_gql(q, {"n": size})
        assert "errors" not in body, body
        assert len(body["data"]["dataCollections"]["edges"]) == size
        counts[size] = esrf_backend.statements - before
    # page + count, sessions, samples, then one each: screenings, 2 scans, 2 spectra, 2 plans
    assert counts[100] == counts[10] <= 11
