"""Sessions, proposals, samples, proteins, crystals, detectors and groups from the real fixture."""

from __future__ import annotations

import datetime as dt

import pytest

from site_adapter.backends.base import PageRequest, ProposalFilter, ProteinFilter, SampleFilter, SessionFilter


async def test_sessions_newest_first_nulls_and_zero_dates_last(ispyb):
    page = await ispyb.sessions(SessionFilter(), PageRequest(first=50))
    assert [k[1] for k, _ in page.items] == [990002, 339535, 55168, 55167, 990001, 339531, 339528, 339525]
    s = dict((r.local_id, r) for _, r in page.items)
    assert s["55167"].visit == "cm14451-1" and s["55167"].beamline == "i03"
    assert s["55167"].start_time == dt.datetime(2016, 1, 1, 9, tzinfo=dt.UTC)  # a site in UTC (default zone)
    assert s["339535"].visit == "cm14451-99" and s["339535"].beamline == "i02-2"
    assert s["990001"].start_time is None  # a zero startDate
    assert s["339525"].proposal == "cm1"


async def test_session_filters(ispyb):
    async def visits(f):
        return [r.visit for _, r in (await ispyb.sessions(f, PageRequest(first=50))).items]

    assert await visits(SessionFilter(proposal="cm14451")) == ["cm14451-99", "cm14451-2", "cm14451-1"]
    assert await visits(SessionFilter(visit="cm1-2")) == ["cm1-2"]
    assert await visits(SessionFilter(beamline="i02-2")) == ["cm14451-99"]
    assert await visits(
        SessionFilter(start_after=dt.datetime(2016, 2, 1), start_before=dt.datetime(2019, 1, 1))
    ) == ["cm14451-99", "cm14451-2"]


async def test_session_pages_resume_after_a_null_key(ispyb):
    first = await ispyb.sessions(SessionFilter(), PageRequest(first=5))
    rest = await ispyb.sessions(SessionFilter(), PageRequest(first=5, after=first.items[-1][0]))
    assert first.has_next_page and not rest.has_next_page
    assert [k[1] for k, _ in rest.items] == [339531, 339528, 339525]


async def test_proposals_with_logins(ispyb):
    page = await ispyb.proposals(ProposalFilter(), PageRequest(first=10))
    assert [(k, p.person_logins) for k, p in page.items] == [
        (("cm1", 141666), ()),
        (("cm14451", 37027), ("boaty",)),
        (("mx90001", 990001), ("alice",)),
    ]
    assert (await ispyb.proposals(ProposalFilter(code="cm14451"), PageRequest(first=5))).total_count == 1
    assert (
        await ispyb.proposals(ProposalFilter(code="CM14451"), PageRequest(first=5))
    ).total_count == 1  # as native
    got = await ispyb.proposals_by_id(["37027", "141666"])
    assert got["37027"].title == "I03 Commissioning Directory 2016"


async def test_samples_in_code_point_order(ispyb):
    page = await ispyb.samples(SampleFilter(protein_acronym="therm"), PageRequest(first=50))
    names = [k[0] for k, _ in page.items]
    assert names == [
        "Zeta",
        "alice_therm_1",
        "alpha",
        "shared_therm",
        "thau88",
        "thau99",
        "tlys_jan_4",
        "Älg",
    ]
    second = await ispyb.samples(
        SampleFilter(protein_acronym="therm"), PageRequest(first=3, after=page.items[2][0])
    )
    assert [k[0] for k, _ in second.items] == ["shared_therm", "thau88", "thau99"]


async def test_sample_record_and_filters(ispyb):
    s = (await ispyb.samples_by_id(["374695"]))["374695"]
    assert (s.name, s.barcode, s.container_code, s.position) == (
        "tlys_jan_4",
        "HA00AU3712",
        "cm14451-1_i03r-002",
        4,
    )
    assert (s.crystal_local_id, s.protein_local_id, s.proposal_local_id) == ("310037", "121393", "37027")
    page = await ispyb.samples(SampleFilter(barcode="OV00000001"), PageRequest(first=5))
    (only,) = [r for _, r in page.items]
    assert {(e.kind, e.value) for e in only.external_ids} == {
        ("pin_barcode", "OV00000001"),
        ("crystal_uuid", "6f1c3f8e-2a1b-4c44-9d0e-0c0ffee00001"),
        ("container_barcode", "DLS-OV-0001"),
    }
    assert (await ispyb.samples(SampleFilter(proposal="cm1"), PageRequest(first=50))).total_count == 15
    assert (await ispyb.samples(SampleFilter(name="hello"), PageRequest(first=5))).items[0][
        1
    ].crystal_local_id is None


async def test_proteins(ispyb):
    page = await ispyb.proteins(ProteinFilter(acronym="therm"), PageRequest(first=10))
    assert [(k, p.proposal_local_id) for k, p in page.items] == [
        (("therm", 121393), "37027"),
        (("therm", 990001), "990001"),
    ]
    assert page.items[1][1].sequence_hash == __import__("hashlib").sha256(b"ITGTSTVGVGRGVLGDQK").hexdigest()
    assert [
        p.acronym for _, p in (await ispyb.proteins(ProteinFilter(name="comp"), PageRequest(first=5))).items
    ] == ["xpdf-comp-01"]
    assert (await ispyb.proteins(ProteinFilter(proposal="cm1"), PageRequest(first=50))).total_count == 12
    assert (await ispyb.proteins(ProteinFilter(uniprot_id="P00800"), PageRequest(first=5))).total_count == 0
    everything = await ispyb.proteins(ProteinFilter(), PageRequest(first=50))
    assert [k[0] for k, _ in everything.items][:3] == [
        "PRT-01",
        "PRT-02",
        "PRT-03",
    ]  # "P" < "t" by code point


async def test_crystals_detectors_groups(ispyb):
    crystals = await ispyb.crystals_by_id(["333301", "990001", "1"])
    assert crystals["333301"].space_group == "P41212" and crystals["333301"].cell is None
    assert crystals["990001"].cell.c == pytest.approx(129.8) and crystals["990001"].uuid.startswith(
        "6f1c3f8e"
    )
    detectors = await ispyb.detectors_by_id(["4", "78", "990001"])
    assert sorted(detectors) == ["4", "990001"]  # 78 is referenced but does not exist
    assert (detectors["4"].manufacturer, detectors["4"].model, detectors["4"].serial_number) == (
        "In-house",
        "Excalibur",
        "1109-434",
    )
    assert (detectors["990001"].pixel_size_x, detectors["990001"].number_of_pixels_y) == (0.075, 4362)
    groups = await ispyb.groups_by_id(["988855", "5440739"])
    assert (
        groups["988855"].session_local_id,
        groups["988855"].sample_local_id,
        groups["988855"].experiment_type,
    ) == ("55167", "374695", "SAD")
    assert groups["5440739"].experiment_type == "Mesh"
