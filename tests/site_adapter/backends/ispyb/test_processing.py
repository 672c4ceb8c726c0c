"""Processing results: each once despite AutoProcScaling_has_Int, CC½ as a fraction, status, best."""

from __future__ import annotations

import pytest


def best(results):
    ok = [r for r in results if r.status == "SUCCESS" and r.overall and r.overall.resolution_high is not None]
    return min(ok, key=lambda r: (r.overall.resolution_high, int(r.local_id)), default=None)


async def test_993677_has_six_distinct_results(ispyb):
    results = (await ispyb.processing_by_collection(["993677"]))["993677"]
    # scaling 596147 is linked to integrations 592522 and 592523: a naive join lists it twice
    assert [r.local_id for r in results] == ["596133", "596138", "596145", "596146", "596147", "596148"]
    assert [r.program for r in results] == [
        "fast_dp",
        "xia2 3dii",
        "xia2 dials",
        "autoPROC",
        "xia2 dials",
        "xia2 3dii",
    ]
    assert {r.status for r in results} == {"SUCCESS"}


async def test_best_of_993677_is_xia2_dials_p6122_at_142(ispyb):
    b = best((await ispyb.processing_by_collection(["993677"]))["993677"])
    assert (b.local_id, b.program, b.space_group) == ("596145", "xia2 dials", "P 61 2 2")
    assert b.overall.resolution_high == pytest.approx(1.42)
    assert b.cell.a == pytest.approx(92.6461) and b.cell.gamma == 120
    assert b.overall.r_pim == pytest.approx(0.033)  # rPimAllIPlusIMinus
    assert b.overall.r_meas == pytest.approx(0.184)  # rMeasAllIPlusIMinus


async def test_fast_dp_cc_half_percent_served_as_fraction(ispyb):
    fast_dp = (await ispyb.processing_by_collection(["993677"]))["993677"][0]
    assert fast_dp.program == "fast_dp"
    assert fast_dp.overall.cc_half == pytest.approx(0.999)  # stored 99.9
    assert fast_dp.outer.cc_half == pytest.approx(0.917)  # stored 91.7
    assert fast_dp.inner.cc_half == pytest.approx(0.999)
    assert fast_dp.overall.cc_anomalous == pytest.approx(0.605)  # stored 60.5
    assert fast_dp.provenance_notes == ("ccHalf, ccAnomalous: fast_dp stores percent; divided by 100",)
    xia2 = (await ispyb.processing_by_collection(["993677"]))["993677"][2]
    assert xia2.overall.cc_half == pytest.approx(0.999) and xia2.outer.cc_half == pytest.approx(0.497)
    assert xia2.provenance_notes == ()


async def test_1002287_fast_dp_outer_cc_half(ispyb):
    results = (await ispyb.processing_by_collection(["1002287"]))["1002287"]
    assert len(results) == 5
    assert results[0].outer.cc_half == pytest.approx(0.977)  # 603434 outer: 97.7 %
    b = best(results)
    assert (b.local_id, b.space_group, b.overall.resolution_high) == ("603470", "I 2 3", pytest.approx(1.33))


async def test_overlay_statuses_and_percent_by_value(ispyb):
    got = await ispyb.processing_by_collection(["990002", "990003", "1052494"])
    assert got["1052494"] == []  # missing processing: an empty list, not an error
    by_id = {r.local_id: r for r in got["990002"]}
    assert {k: r.status for k, r in by_id.items()} == {
        "990001": "SUCCESS",
        "990002": "FAILED",
        "990003": "RUNNING",
    }
    assert best(got["990002"]).local_id == "990001"  # the FAILED 0.9 Å run is never best
    auto = got["990003"][0]
    assert auto.program == "autoPROC" and auto.overall.cc_half == pytest.approx(0.992)
    assert auto.outer.cc_half == pytest.approx(0.0062)  # same result, same unit: percent
    assert "value above 1" in auto.provenance_notes[0]


async def test_processing_batch_is_one_statement(ispyb):
    before = ispyb.db.queries
    got = await ispyb.processing_by_collection(["993677", "1002287", "990002", "990003", "1052494"])
    assert ispyb.db.queries - before == 1
    assert sum(len(v) for v in got.values()) == 6 + 5 + 3 + 1
