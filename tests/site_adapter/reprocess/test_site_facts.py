"""The beamline table (site facts), lab sources and templates that match their files."""

from __future__ import annotations

import datetime as dt
import fnmatch
import zoneinfo
from pathlib import Path

import pytest

from site_adapter.indexer.cbf_header import read_header
from site_adapter.reprocess import Overrides, geometry_from_collection, geometry_from_header, render_xds
from site_adapter.reprocess.beamlines import Beamlines
from site_adapter.reprocess.geometry import template_from_filename
from tests.site_adapter.reprocess.reference import floats, parse_xds_inp
from tests.site_adapter.reprocess.test_collection import make_dc


def test_reversed_spindle_by_date_from_the_table() -> None:
    demo = Overrides.demo()
    before = geometry_from_collection(
        make_dc(start_time=dt.datetime(2015, 6, 1), experiment_type="OSC"),
        None,
        overrides=demo,
        beamline="i23",
    )
    after = geometry_from_collection(
        make_dc(start_time=dt.datetime(2021, 6, 1), experiment_type="OSC"),
        None,
        overrides=demo,
        beamline="i23",
    )
    assert floats(parse_xds_inp(render_xds(before))["ROTATION_AXIS"][0]) == [-1.0, 0.0, 0.0]
    assert floats(parse_xds_inp(render_xds(after))["ROTATION_AXIS"][0]) == [1.0, 0.0, 0.0]
    assert before.detector_model is not None and before.detector_model.name == "PILATUS 12M"
    assert after.overload == 28575  # the 2021 I23 header's Count_cutoff, via the table


def test_the_table_reads_dates_on_the_facility_clock() -> None:
    # A London collection at 00:30 BST on 2021-06-01 is served as the instant 2021-05-31T23:30Z; the table's
    # dates are the facility's, so it is a 1 June collection (reviewer's finding after issue 21).
    table = Overrides(
        beamlines=Beamlines.from_mapping(
            [
                {"beamline": "i03", "until": "2021-06-01", "detector": "PILATUS 6M"},
                {"beamline": "i03", "from": "2021-06-01", "detector": "EIGER2 16M"},
            ]
        )
    )
    served = make_dc(start_time=dt.datetime(2021, 5, 31, 23, 30, tzinfo=dt.UTC))
    london = geometry_from_collection(
        served, None, overrides=table, beamline="i03", time_zone=zoneinfo.ZoneInfo("Europe/London")
    )
    utc = geometry_from_collection(served, None, overrides=table, beamline="i03", time_zone=None)
    assert london.detector_model is not None and london.detector_model.name == "EIGER2 16M"
    assert utc.detector_model is not None and utc.detector_model.name == "PILATUS 6M"


def test_beamline_case_and_dates() -> None:
    table = Beamlines.from_mapping(
        [{"beamline": "I03", "from": "2016-01-01", "until": "2017-01-01", "detector": "PILATUS3 6M"}]
    )
    assert table.find("i03", dt.datetime(2016, 5, 1)) is not None
    assert table.find("i03", dt.datetime(2017, 1, 1)) is None  # until is exclusive
    assert table.find("i04", dt.datetime(2016, 5, 1)) is None


@pytest.mark.parametrize(
    "bad, message",
    [
        ([{"detector": "x"}], "needs a beamline name"),
        ([{"beamline": "i03", "from": "yesterday"}], "not a date"),
        ([{"beamline": "i03", "polarization": 99}], "fraction 0-1"),
        ([{"beamline": "i03", "source": "moon"}], "source must be one of"),
        ({"beamline": "i03"}, "must be a list"),
    ],
)
def test_bad_tables_are_refused_with_the_reason(bad: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Overrides.from_mapping({"beamlines": bad})


def test_lab_source_is_unpolarised(images: Path) -> None:
    # PSI's PILATUS 300K lab data: Cu K-alpha (1.542 A), no Polarization line in the header
    header = read_header(images / "dialects" / "psi_in16c_010001.cbf")
    assert header.polarization is None and header.wavelength == pytest.approx(1.542)
    g = geometry_from_header(
        header,
        template="psi_in16c_01####.cbf",
        image_directory=None,
        number_of_images=10,
        overrides=Overrides(),
    )
    assert g.polarization == 0.5
    assert parse_xds_inp(render_xds(g))["FRACTION_OF_POLARIZATION"] == ["0.500"]


FILES = [
    "thaumatin_grid/thau_3_2_0001.cbf.bz2",
    "image_examples/DLS_I03_smargon_0001.cbf.gz",
    "image_examples/DLS_I23_P12M_thau_00001.cbf.gz",
    "image_examples/dlsnxs2cbf_therm_0001.cbf.gz",
    "l_cysteine/l-cyst_01_00001.cbf",
    "l_cysteine/l-cyst_04_00015.cbf",
    "dialects/psi_in16c_010001.cbf",
]


@pytest.mark.parametrize("name", FILES, ids=[n.split("/")[-1] for n in FILES])
def test_every_xds_template_matches_the_files_it_came_from(images: Path, name: str) -> None:
    path = images / name
    template, first = template_from_filename(str(path))  # type: ignore[misc]
    g = geometry_from_header(
        read_header(path),
        template=template,
        image_directory=str(path.parent),
        number_of_images=1,
        first_image=first,
        overrides=Overrides(),
    )
    if g.kind != "rotation":
        return  # no XDS.INP for stills; the template itself is checked below
    xds_template = parse_xds_inp(render_xds(g))["NAME_TEMPLATE_OF_DATA_FRAMES"][0]
    assert fnmatch.fnmatchcase(str(path), xds_template), (xds_template, path)
    siblings = sorted(p for p in path.parent.iterdir() if fnmatch.fnmatchcase(str(p), xds_template))
    assert path in siblings
    if path.suffix in (".gz", ".bz2"):
        assert "compressed frames" in render_xds(g)
