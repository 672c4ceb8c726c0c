"""Data collections from the real fixture: values, quirks, every filter, keyset pages, batching."""

from __future__ import annotations

import datetime as dt

import pytest

from site_adapter.backends.base import DataCollectionFilter as F
from site_adapter.backends.base import InvalidInput, PageRequest

TLYS = F(sample_name="tlys_jan_4")


async def ids(backend, f: F, first: int = 50) -> list[int]:
    page = await backend.data_collections(f, PageRequest(first=first))
    return [key[1] for key, _ in page.items]


async def test_sample_tlys_jan_4_has_two_collections_newest_first(ispyb):
    page = await ispyb.data_collections(TLYS, PageRequest(first=20))
    assert page.total_count == 2 and page.has_next_page is False
    assert [(k, r.local_id) for k, r in page.items] == [
        (("2021-02-25T10:15:06.000000", 6017405), "6017405"),
        (("2016-01-14T12:40:34.000000", 993677), "993677"),
    ]


async def test_collection_993677_values_in_canonical_units(ispyb):
    dc = (await ispyb.data_collections_by_id(["993677"]))["993677"]
    assert (dc.session_local_id, dc.sample_local_id, dc.group_local_id) == ("55167", "374695", "988855")
    assert dc.experiment_type == "SAD"  # DataCollection.experimenttype is NULL; the group says SAD
    assert dc.image_directory == "/dls/i03/data/2016/cm14451-1/20160114/tlys_jan_4/"
    assert dc.file_template == "tlys_jan_4_1_####.cbf" and dc.number_of_images == 3600
    assert dc.wavelength == pytest.approx(1.28255) and dc.detector_distance == pytest.approx(193.087)
    assert dc.transmission == pytest.approx(40.1936)  # percent, as stored
    assert (dc.beam_size_x, dc.beam_size_y) == (50.0, 20.0)  # 0.05 mm x 0.02 mm
    assert dc.flux == pytest.approx(833107367454.3083)
    # stored xBeam 215.62 / yBeam 208.978 (fast, slow); xia2 refined x 209.1 / y 215.7 in the
    # Mosflm (slow, fast) order: served as stored, with a note
    assert (dc.beam_centre_x, dc.beam_centre_y) == (pytest.approx(215.62), pytest.approx(208.978))
    assert any("(slow, fast)" in note for note in dc.provenance_notes)


async def test_missing_detector_row_is_a_null_detector(ispyb):
    dc = (await ispyb.data_collections_by_id(["6017405"]))["6017405"]
    assert dc.detector_local_id is None  # detectorId 78 has no Detector row
    assert "detector: detectorId 78 has no Detector row; served as null" in dc.provenance_notes
    assert (dc.beam_centre_x, dc.beam_centre_y) == (
        pytest.approx(78.0483),
        pytest.approx(83.9258),
    )  # no processing
    assert dc.experiment_type == "Mesh"


async def test_session_id_zero_resolved_through_the_group_and_zero_dates_null(ispyb):
    dc = (await ispyb.data_collections_by_id(["990001"]))["990001"]
    assert dc.session_local_id == "990001"
    assert dc.start_time is None and dc.end_time is None
    assert any("SESSIONID is 0" in note for note in dc.provenance_notes)
    assert any("zero date" in note for note in dc.provenance_notes)
    assert dc.detector_local_id == "4"


async def test_overlay_swapped_beam_centre_and_legacy_sample(ispyb):
    got = await ispyb.data_collections_by_id(["990002", "990003"])
    assert (got["990002"].beam_centre_x, got["990002"].beam_centre_y) == (100.5, 120.25)  # as stored
    assert any("(slow, fast)" in note for note in got["990002"].provenance_notes)
    assert (got["990003"].beam_centre_x, got["990003"].beam_centre_y) == (155.5, 160.75)
    assert got["990003"].sample_local_id == "990002"  # only DataCollection.BLSAMPLEID names it


async def test_null_and_zero_start_times_sort_last_by_id(ispyb):
    order = await ids(ispyb, F(proposal="mx90001"))
    assert order == [990003, 990002, 990004, 990001]


@pytest.mark.parametrize(
    "f, expected",
    [
        (F(sample_name="tlys_jan_4"), [6017405, 993677]),
        (F(sample_name="TLYS_JAN_4"), []),  # exact, not latin1_swedish_ci's case-insensitive =
        (F(sample_barcode="HA00AK8934"), [1066786]),
        (F(crystal_uuid="6f1c3f8e-2a1b-4c44-9d0e-0c0ffee00001"), [990002, 990004, 990001]),
        (F(protein_acronym="therm"), [6017405, 990003, 990002, 993677, 990004, 990001]),
        (F(protein_name="THERMOLY"), [990002, 990004, 990001]),
        (F(uniprot_id="P00800"), []),  # ISPyB has no UniProt column
        (F(proposal="cm14451"), [6017405, 1066786, 1052503, 1052494, 1002287, 993677]),
        (F(visit="cm14451-2"), [1066786, 1052503, 1052494]),
        (F(visit="mx90001-1"), [990004, 990001]),
        (F(beamline="i04"), [990003, 990002, 990004, 990001]),
        (F(experiment_type="Mesh"), [6017405, 990004]),
        (F(experiment_type="mesh"), []),
        (F(visit="cm14451"), []),
        (F(visit="CM14451-2", beamline="I03"), [1066786, 1052503, 1052494]),  # codes: case-insensitive
        (F(crystal_uuid="6F1C3F8E-2A1B-4C44-9D0E-0C0FFEE00001"), [990002, 990004, 990001]),
        (F(proposal="cm-14451"), []),
        (F(start_after=dt.datetime(2016, 4, 13, 12, 20)), [6017405, 990003, 990002, 1066786, 1052503]),
        (F(start_before=dt.datetime(2016, 1, 23)), [1002287, 993677]),
        (F(resolution_better_than=1.42), [1002287, 993677]),
        (F(resolution_better_than=1.33), [1002287]),  # 603470 overall 1.33 (a FLOAT column)
        (F(resolution_better_than=1.0), []),  # 990002's 0.9 Å run FAILED
        (F(space_group="P 61 2 2"), [990002, 993677]),  # 990002: fast_dp 1.8 Å beats nothing better
        (F(space_group="P6122"), [990002, 993677]),
        (F(space_group="I 2 3"), [1002287]),
        (F(protein_acronym="therm", proposal="mx90001"), [990003, 990002, 990004, 990001]),
        (F(sample_name="tlys_jan_4", resolution_better_than=1.5), [993677]),
    ],
)
async def test_filters(ispyb, f, expected):
    page = await ispyb.data_collections(f, PageRequest(first=50))
    assert [k[1] for k, _ in page.items] == expected
    assert page.total_count == len(expected)


async def test_shared_protein_reaches_both_proposals(ispyb):
    got = await ispyb.data_collections_by_id(["990003"])
    sample = (await ispyb.samples_by_id([got["990003"].sample_local_id]))["990002"]
    assert sample.protein_local_id == "121393" and sample.name == "shared_therm"


async def test_ids_by_sample_newest_first(ispyb):
    got = await ispyb.data_collection_ids_by_sample(["374695", "398810", "990002", "11550", "nope"])
    assert got["374695"] == ["6017405", "993677"]
    assert got["398810"] == ["1066786"]
    assert got["990002"] == ["990003"]
    assert got["11550"] == []


async def test_batches_are_one_statement(ispyb):
    before = ispyb.db.queries
    got = await ispyb.data_collections_by_id(["993677", "1002287", "6017405", "990001", "12345678", "x"])
    assert sorted(got) == ["1002287", "6017405", "990001", "993677"]
    assert ispyb.db.queries - before == 1
    before = ispyb.db.queries
    await ispyb.data_collections(F(protein_acronym="therm"), PageRequest(first=20))
    assert ispyb.db.queries - before == 2  # counted and ordered ids, hydration: whatever the page size
    before = ispyb.db.queries
    await ispyb.data_collections(F(beamline="i03"), PageRequest(first=20))
    assert ispyb.db.queries - before <= 4  # count, dated ids, undated ids, hydration


async def test_sample_filter_pages_keep_their_total(ispyb):
    f, seen, after = F(protein_acronym="therm"), [], None
    while True:
        page = await ispyb.data_collections(f, PageRequest(first=4, after=after))
        assert page.total_count == 6
        seen += [k[1] for k, _ in page.items]
        if not page.has_next_page:
            break
        after = page.items[-1][0]
    assert seen == [6017405, 990003, 990002, 993677, 990004, 990001]
    past_the_end = await ispyb.data_collections(f, PageRequest(first=4, after=(None, 1)))
    assert past_the_end.items == [] and past_the_end.total_count == 6 and not past_the_end.has_next_page


async def test_bad_keyset_position(ispyb):
    with pytest.raises(InvalidInput):
        await ispyb.data_collections(F(), PageRequest(first=2, after=("yesterday", 1)))
