"""Characterisation, energy scans, XRF spectra and plans from Diamond's ISPyB fixture (issue 16).

Every expected value is read from data.sql by SQL in the test, in the store's own units, and the
conversion the contract asks for (fraction -> %, keV -> eV) is applied to it here.
"""

from __future__ import annotations

import asyncmy
import pytest

from site_adapter.backends.ispyb import scans, screening
from site_adapter.backends.ispyb.schema_check import OPTIONAL_TABLES
from tests.fixtures.mariadb import connect_kwargs

DC = "1052494"  # data.sql: the collection with seven characterisations (EDNA MXv1 and mosflm)
SESSION = "55167"  # cm14451-1: energy scans (Fe, Zn, Cu, Se) and XRF spectra
SAMPLE = "374695"  # a sample with an energy scan and XRF spectra of its own


async def _sql(dsn: str, sql: str, *args):
    from urllib.parse import urlsplit

    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())
    finally:
        conn.close()


def test_every_column_read_is_in_the_allow_list():
    for module in (screening, scans):
        for table, cols in module.COLUMNS.items():
            assert set(cols) <= set(OPTIONAL_TABLES[table]), table


async def test_screenings_match_the_fixture(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT s.screeningId, s.programVersion, s.shortComments, s.comments, o.screeningOutputId, o.mosaicity,"
        " o.numSpotsFound, o.beamShiftX, o.statusDescription, o.indexingSuccess"
        " FROM Screening s JOIN ScreeningOutput o ON o.screeningId = s.screeningId"
        " WHERE s.dataCollectionId = %s ORDER BY s.screeningId",
        int(DC),
    )
    got = await ispyb.screenings_by_collection([DC, "1"])
    assert got["1"] == []
    found = got[DC]
    assert [s.local_id for s in found] == [str(r["screeningId"]) for r in rows]
    for s, want in zip(found, rows, strict=True):
        assert (s.program, s.short_comments, s.comments) == (
            want["programVersion"],
            want["shortComments"],
            want["comments"],
        )
        (out,) = s.outputs
        assert out.local_id == str(want["screeningOutputId"])
        assert out.mosaicity == pytest.approx(want["mosaicity"])
        assert out.spots_found == want["numSpotsFound"]
        if want["beamShiftX"] is not None:
            assert out.beam_shift_x == pytest.approx(want["beamShiftX"])
        # indexingSuccess is 0 in every row though Labelit's status says it indexed: the status wins
        said = "Indexing successful" in (want["statusDescription"] or "")
        assert out.indexing_success is (bool(want["indexingSuccess"]) or said)
        if said and not want["indexingSuccess"]:
            assert any("statusDescription" in n for n in s.provenance_notes)


async def test_strategy_wedges_and_sub_wedges_in_canonical_units(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT st.screeningStrategyId, st.program, st.anomalous, st.exposureTime, st.rankingResolution,"
        " w.screeningStrategyWedgeId, w.completeness AS w_completeness, w.multiplicity AS w_multiplicity,"
        " w.numberOfImages AS w_images, sw.axisStart, sw.axisEnd, sw.oscillationRange, sw.exposureTime AS sw_exposure,"
        " sw.transmission, sw.completeness AS sw_completeness, sw.numberOfImages, sw.rotationAxis"
        " FROM Screening s JOIN ScreeningOutput o ON o.screeningId = s.screeningId"
        " JOIN ScreeningStrategy st ON st.screeningOutputId = o.screeningOutputId"
        " JOIN ScreeningStrategyWedge w ON w.screeningStrategyId = st.screeningStrategyId"
        " JOIN ScreeningStrategySubWedge sw ON sw.screeningStrategyWedgeId = w.screeningStrategyWedgeId"
        " WHERE s.dataCollectionId = 1066786 ORDER BY st.screeningStrategyId",
    )
    found = (await ispyb.screenings_by_collection(["1066786"]))["1066786"]
    strategies = [st for s in found for o in s.outputs for st in o.strategies]
    assert [st.local_id for st in strategies] == [str(r["screeningStrategyId"]) for r in rows]
    for st, want in zip(strategies, rows, strict=True):
        assert st.program == want["program"]
        assert st.anomalous is bool(want["anomalous"])
        assert (
            st.ranking_resolution == pytest.approx(want["rankingResolution"])
            if want["rankingResolution"]
            else True
        )
        (w,) = st.wedges
        assert w.completeness == pytest.approx(want["w_completeness"] * 100)  # stored as a fraction
        assert w.number_of_images == want["w_images"]
        (sw,) = w.sub_wedges
        assert (sw.axis_start, sw.axis_end) == (
            pytest.approx(want["axisStart"]),
            pytest.approx(want["axisEnd"]),
        )
        assert sw.oscillation_range == pytest.approx(want["oscillationRange"])
        assert sw.rotation_axis == want["rotationAxis"]
        assert sw.number_of_images == want["numberOfImages"]
        assert sw.completeness == pytest.approx(want["sw_completeness"] * 100)
        if want["transmission"] is not None:
            assert sw.transmission == pytest.approx(want["transmission"])  # already %
        if want["sw_exposure"]:
            assert sw.exposure_time == pytest.approx(want["sw_exposure"])
        else:
            assert sw.exposure_time is None  # mosflm's 0: not given


async def test_energy_scans_by_session_and_sample(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT energyScanId, element, edgeEnergy, startEnergy, peakEnergy, peakFPrime, peakFDoublePrime,"
        " inflectionEnergy, inflectionFPrime, inflectionFDoublePrime, transmissionFactor, beamSizeHorizontal,"
        " beamSizeVertical, exposureTime, blSampleId FROM EnergyScan WHERE sessionId = %s ORDER BY energyScanId",
        int(SESSION),
    )
    found = (await ispyb.energy_scans_by_session([SESSION]))[SESSION]
    assert [e.local_id for e in found] == [str(r["energyScanId"]) for r in rows]
    for e, want in zip(found, rows, strict=True):
        assert e.element == want["element"] and e.edge == want["edgeEnergy"]
        if want["startEnergy"] is not None:
            assert want["startEnergy"] > 1000  # Diamond stores eV: served as stored
            assert e.start_energy == pytest.approx(want["startEnergy"])
            assert (
                e.peak_f_prime == pytest.approx(want["peakFPrime"])
                if want["peakFPrime"] is not None
                else True
            )
            assert e.transmission == pytest.approx(
                want["transmissionFactor"] * 100
            )  # a fraction in the store
            assert e.beam_size_x == pytest.approx(want["beamSizeHorizontal"])
            assert e.beam_size_y == pytest.approx(want["beamSizeVertical"])
    se = [e for e in found if e.element == "Se"]
    assert se and all(12600 < e.inflection_energy < 12700 for e in se if e.inflection_energy)
    by_sample = (await ispyb.energy_scans_by_sample([SAMPLE]))[SAMPLE]
    assert [e.local_id for e in by_sample] == [
        str(r["energyScanId"]) for r in rows if r["blSampleId"] == int(SAMPLE)
    ]


async def test_xrf_spectra_by_session_and_sample(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT xfeFluorescenceSpectrumId, energy, beamTransmission, exposureTime, filename, annotatedPymcaXfeSpectrum,"
        " blSampleId FROM XFEFluorescenceSpectrum WHERE sessionId = %s ORDER BY xfeFluorescenceSpectrumId",
        int(SESSION),
    )
    found = (await ispyb.xrf_spectra_by_session([SESSION]))[SESSION]
    assert [x.local_id for x in found] == [str(r["xfeFluorescenceSpectrumId"]) for r in rows]
    for x, want in zip(found, rows, strict=True):
        assert x.energy == pytest.approx(want["energy"])
        assert x.transmission == pytest.approx(want["beamTransmission"])  # already %
        assert x.spectrum_file == want["filename"]
        assert x.annotated_file == want["annotatedPymcaXfeSpectrum"]
    by_sample = (await ispyb.xrf_spectra_by_sample([SAMPLE]))[SAMPLE]
    assert [x.local_id for x in by_sample] == [
        str(r["xfeFluorescenceSpectrumId"]) for r in rows if r["blSampleId"] == int(SAMPLE)
    ]


async def test_diffraction_plan_of_a_sample(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT b.blSampleId, p.diffractionPlanId, p.experimentKind, p.requiredResolution, p.preferredBeamSizeX,"
        " p.exposureTime, p.anomalousData FROM BLSample b"
        " JOIN DiffractionPlan p ON p.diffractionPlanId = b.diffractionPlanId ORDER BY b.blSampleId",
    )
    assert rows
    ids = [str(r["blSampleId"]) for r in rows] + ["374695"]
    found = await ispyb.diffraction_plans_by_sample(ids)
    assert "374695" not in found  # no plan of its own nor of its crystal
    for r in rows:
        plan = found[str(r["blSampleId"])]
        assert plan.local_id == str(r["diffractionPlanId"])
        assert plan.experiment_kind == r["experimentKind"]
        assert plan.required_resolution == pytest.approx(r["requiredResolution"])
        assert plan.preferred_beam_size_x == pytest.approx(r["preferredBeamSizeX"])
        assert plan.exposure_time == pytest.approx(r["exposureTime"])
        assert plan.anomalous is bool(r["anomalousData"])


async def test_the_plan_of_a_collection_is_its_data_collection_plan(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn,
        "SELECT dc.dataCollectionId, p.diffractionPlanId, p.experimentKind FROM DataCollection dc"
        " LEFT JOIN DiffractionPlan p ON p.diffractionPlanId = dc.dataCollectionPlanId ORDER BY dc.dataCollectionId",
    )
    found = await ispyb.diffraction_plans_by_collection([str(r["dataCollectionId"]) for r in rows])
    # data.sql links no collection to a plan (only samples): every collection answers none
    assert {k: v.local_id for k, v in found.items()} == {
        str(r["dataCollectionId"]): str(r["diffractionPlanId"])
        for r in rows
        if r["diffractionPlanId"] is not None
    }


async def test_a_batch_costs_a_fixed_number_of_statements(ispyb, ispyb_dsn):
    rows = await _sql(
        ispyb_dsn, "SELECT dataCollectionId FROM DataCollection ORDER BY dataCollectionId LIMIT 100"
    )
    many = [str(r["dataCollectionId"]) for r in rows] + [str(i) for i in range(1, 100 - len(rows) + 1)]
    for call in (
        lambda ids: ispyb.screenings_by_collection(ids),
        lambda ids: ispyb.energy_scans_by_session(ids),
        lambda ids: ispyb.xrf_spectra_by_sample(ids),
        lambda ids: ispyb.diffraction_plans_by_sample(ids),
        lambda ids: ispyb.diffraction_plans_by_collection(ids),
    ):
        counts = []
        for ids in ([DC, SESSION, SAMPLE], many):
            before = ispyb.db.queries
            await call(ids)
            counts.append(ispyb.db.queries - before)
        assert counts[0] == counts[1] <= 3
