"""The quirk rules, without a database: each case is a value seen in data.sql or the overlay."""

from __future__ import annotations

import datetime as dt

from site_adapter.backends.ispyb import normalise as n


def test_zero_dates_are_null():
    assert n.date("0000-00-00 00:00:00") is None  # what the driver returns for a zero date
    assert n.date(None) is None
    assert n.date(dt.datetime(2016, 1, 14, 12, 40, 34)) == dt.datetime(2016, 1, 14, 12, 40, 34)


def test_session_comes_from_the_group_when_sessionid_is_zero():
    assert n.session_id(990001, 0) == (
        "990001",
        "session: DataCollection.SESSIONID is 0/null; taken from DataCollectionGroup.sessionId",
    )
    assert n.session_id(55167, 55167) == ("55167", None)
    sid, note = n.session_id(55167, 42)
    assert sid == "55167" and "disagrees" in note
    assert n.session_id(None, 7)[0] == "7"


def test_sample_falls_back_to_the_legacy_column():
    assert n.sample_id(374695, 374695) == ("374695", None)
    assert n.sample_id(None, 990002)[0] == "990002"
    assert n.sample_id(None, None) == (None, None)


def test_beam_centre_served_as_stored_with_a_note_when_refined_is_swapped():
    # data.sql collection 993677: xBeam 215.62, yBeam 208.978; fast_dp refined 209.131, 215.722.
    x, y, note = n.beam_centre(215.62, 208.978, 209.131, 215.722)
    assert (x, y) == (215.62, 208.978) and "(slow, fast)" in note
    # collection 1052494-like rows without processing: served as stored.
    assert n.beam_centre(214.33, 208.71, None, None) == (214.33, 208.71, None)
    # agrees with the refined centre already
    assert n.beam_centre(155.5, 160.75, 155.45, 160.8) == (155.5, 160.75, None)


def test_units():
    assert n.mm_to_um(0.05) == 50.0
    assert n.pixel_size_mm(75) == (0.075, "detector pixel size: stored in µm, divided by 1000")
    assert n.pixel_size_mm(0.172) == (0.172, None)


def test_program_names_and_status():
    assert n.program_name("autoPROC 1.0.4 (see: http://www.globalphasing.com/autoproc/)") == "autoPROC"
    assert n.program_name("xia2 3dii") == "xia2 3dii"
    assert n.program_name("fast_dp") == "fast_dp"
    assert n.status(1, None, None) == "SUCCESS"
    assert n.status(0, None, None) == "FAILED"
    assert n.status(None, dt.datetime(2019, 6, 1), None) == "RUNNING"
    assert n.status(None, None, None) == "UNKNOWN"


def test_cc_half_percent_detection():
    assert n.cc_half_is_percent("fast_dp", [99.9, 91.7])[0] is True
    assert n.cc_half_is_percent("fast_dp", [0.5])[0] is True  # fast_dp is percent whatever the value
    assert n.cc_half_is_percent("xia2 dials", [0.999, 0.497]) == (False, None)
    assert n.cc_half_is_percent("autoPROC", [99.2, 0.62])[0] is True
    assert n.fraction(99.9, True) == 0.999
    assert n.fraction(0.497, False) == 0.497


def test_codes_and_space_groups():
    assert n.split_proposal("cm14451") == ("cm", "14451")
    assert n.split_proposal("cm-14451") is None
    assert n.split_visit("cm14451-1") == ("cm14451", 1)
    assert n.split_visit("ih-ls3100-12") == ("ih-ls3100", 12)
    assert n.split_visit("cm14451") is None
    assert n.space_group_key("P 61 2 2") == "P6122" == n.space_group_key("p6122")
    assert n.sequence_hash("ab c") == n.sequence_hash("ABC")
