"""Geometry from common-schema records: priorities, missing geometry, unknown detectors, cell on request."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from site_adapter import model
from site_adapter.reprocess import (
    MissingGeometry,
    NotRotation,
    Overrides,
    geometry_from_collection,
    normalise_template,
    render,
    render_xds,
    template_from_filename,
)
from tests.site_adapter.reprocess.reference import parse_mosflm, parse_xds_inp

NO_OVERRIDES = Overrides()


def make_dc(**kw: Any) -> model.DataCollection:
    """The i03 collection 993677 of the ISPyB fixture's data.sql, as a backend returns it."""
    values: dict[str, Any] = dict(
        local_id="993677",
        group_local_id="988855",
        session_local_id="55167",
        sample_local_id="374695",
        detector_local_id="1",
        experiment_type="OSC",
        start_time=None,
        end_time=None,
        run_status="DataCollection Successful",
        image_directory="/dls/i03/data/2016/cm14451-1/20160114/tlys_jan_4/",
        file_template="tlys_jan_4_1_####.cbf",
        start_image_number=1,
        number_of_images=3600,
        wavelength=1.28255,
        detector_distance=193.087,
        beam_centre_x=215.62,
        beam_centre_y=208.978,
        axis_start=45.0,
        axis_end=0.1,
        axis_range=0.1,
        overlap=0.0,
        rotation_axis="Omega",
        exposure_time=0.02,
        transmission=40.1936,
        flux=8.3e11,
        beam_size_x=80.0,
        beam_size_y=20.0,
        resolution=1.6,
    )
    values.update(kw)
    return model.DataCollection(**values)


P6M = model.Detector(
    local_id="1",
    manufacturer="DECTRIS",
    model="PILATUS3 6M",
    serial_number="60-0126",
    pixel_size_x=0.172,
    pixel_size_y=0.172,
    number_of_pixels_x=2463,
    number_of_pixels_y=2527,
    sensor_material="Si",
    sensor_thickness=1.0,
)


def best_result(space_group: str | None = "P 43 21 2", status: str = "SUCCESS") -> model.ProcessingResult:
    return model.ProcessingResult(
        local_id="596133",
        data_collection_local_id="993677",
        program="xia2 dials",
        status=status,
        space_group=space_group,
        cell=model.UnitCell(78.1, 78.1, 37.2, 90, 90, 90),
        overall=None,
        inner=None,
        outer=None,
    )


def test_collection_geometry_in_canonical_units() -> None:
    g = geometry_from_collection(make_dc(), P6M, overrides=NO_OVERRIDES)
    # ISPyB xBeam/yBeam are mm along the fast/slow axes: ORGX = 215.62 / 0.172
    assert g.orgx == pytest.approx(215.62 / 0.172)
    assert g.orgy == pytest.approx(208.978 / 0.172)
    assert (g.nx, g.ny, g.first_image, g.last_image) == (2463, 2527, 1, 3600)
    assert g.sensor_thickness == 1.0 and g.detector_model is not None
    xds = parse_xds_inp(render_xds(g))
    assert xds["NAME_TEMPLATE_OF_DATA_FRAMES"] == [
        "/dls/i03/data/2016/cm14451-1/20160114/tlys_jan_4/tlys_jan_4_1_????.cbf"
    ]
    assert xds["DATA_RANGE"] == ["1 3600"]
    assert xds["SPACE_GROUP_NUMBER"] == ["0"]


def test_cell_from_best_processing_on_request() -> None:
    g = geometry_from_collection(make_dc(), P6M, best_result(), overrides=NO_OVERRIDES)
    assert parse_xds_inp(render_xds(g))["SPACE_GROUP_NUMBER"] == ["0"]  # only on request
    xds = parse_xds_inp(render_xds(g, cell_from_processing=True))
    assert xds["SPACE_GROUP_NUMBER"] == ["96"]
    assert [float(v) for v in xds["UNIT_CELL_CONSTANTS"][0].split()] == [78.1, 78.1, 37.2, 90, 90, 90]


@pytest.mark.parametrize("best", [best_result(status="FAILED"), best_result(space_group="P 21/c"), None])
def test_no_usable_cell_stays_zero(best: model.ProcessingResult | None) -> None:
    g = geometry_from_collection(make_dc(), P6M, best, overrides=NO_OVERRIDES)
    xds = render_xds(g, cell_from_processing=True)
    assert parse_xds_inp(xds)["SPACE_GROUP_NUMBER"] == ["0"]
    assert parse_xds_inp(xds)["UNIT_CELL_CONSTANTS"] == ["0 0 0 0 0 0"]


@pytest.mark.parametrize(
    "changes, detector, missing",
    [
        ({"wavelength": None}, P6M, ["wavelength"]),
        ({}, None, ["detector"]),
        ({"wavelength": None}, None, ["wavelength", "detector"]),
        ({"detector_distance": None, "beam_centre_x": None}, P6M, ["detector distance", "beam centre"]),
        ({"axis_range": None, "file_template": None}, P6M, ["oscillation range", "file template"]),
    ],
)
def test_missing_geometry_names_what_is_absent(
    changes: dict, detector: model.Detector | None, missing: list[str]
) -> None:
    with pytest.raises(MissingGeometry) as info:
        geometry_from_collection(make_dc(**changes), detector, overrides=NO_OVERRIDES)
    assert info.value.missing == missing
    assert str(info.value) == (
        f"cannot write reprocessing input for data collection 993677: missing {', '.join(missing)}"
    )


def test_unknown_detector_gives_flagged_generic_output() -> None:
    rayonix = model.Detector(
        local_id="9",
        manufacturer="Rayonix",
        model="MX-300HS",
        serial_number="7",
        pixel_size_x=0.078,
        pixel_size_y=0.078,
        number_of_pixels_x=3840,
        number_of_pixels_y=3840,
    )
    g = geometry_from_collection(make_dc(), rayonix, overrides=NO_OVERRIDES)
    assert g.detector_model is None
    for fmt in ("xds", "dials", "mosflm"):
        text = render(fmt, g)
        first = text.splitlines()[0]
        assert "GENERIC OUTPUT" in first and "MX-300HS" in first
    xds = parse_xds_inp(render_xds(g))
    assert "UNTRUSTED_RECTANGLE" not in xds
    assert xds["NX"] == ["3840"] and xds["QX"] == ["0.0780"]


def test_unknown_detector_without_pixel_size_is_missing_geometry() -> None:
    bare = model.Detector(
        local_id="9",
        manufacturer=None,
        model="Mystery 1",
        serial_number=None,
        pixel_size_x=None,
        pixel_size_y=None,
    )
    with pytest.raises(MissingGeometry) as info:
        geometry_from_collection(make_dc(), bare, overrides=NO_OVERRIDES)
    assert info.value.missing == ["detector pixel size", "detector size in pixels"]


def test_header_fills_gaps_and_disagreements_are_noted() -> None:
    header = SimpleNamespace(
        detector="PILATUS3 6M",
        serial_number="60-0126",
        pixel_size_x=0.172,
        pixel_size_y=0.172,
        wavelength=1.28255,
        detector_distance=200.0,
        beam_x=1229.30,
        beam_y=1200.48,
        start_angle=45.0,
        angle_increment=0.1,
        polarization=0.99,
        count_cutoff=91795,
        sensor_thickness=1.0,
        sensor_material="Silicon",
        dimensions=(2463, 2527),
    )
    g = geometry_from_collection(make_dc(), None, header=header, overrides=NO_OVERRIDES)
    assert g.distance == 193.087  # metadata wins
    assert g.overload == 91795  # header's Count_cutoff
    assert any(
        "distance: metadata 193.087 mm, image header says 200.000 mm; the metadata used" in n for n in g.notes
    )
    assert any(n.startswith("beam centre: metadata") for n in g.notes)
    # a collection with no detector row still renders when its header names the detector
    assert g.detector_model is not None and g.detector_model.name == "PILATUS3 6M"


def test_site_override_beats_database_row() -> None:
    site = Overrides.from_mapping(
        {"detectors": [{"serial_number": "60-0126", "sensor_thickness": 0.45, "overload": 1000000}]}
    )
    g = geometry_from_collection(make_dc(), P6M, overrides=site)
    assert (g.sensor_thickness, g.overload) == (0.45, 1000000)
    assert any("instead of 1.000 mm from the facility's detector record" in n for n in g.notes)


def test_eiger2_master_file_templates() -> None:
    e2 = model.Detector(
        local_id="2",
        manufacturer="DECTRIS",
        model="EIGER2 XE 16M",
        serial_number="E-32-0112",
        pixel_size_x=0.075,
        pixel_size_y=0.075,
        number_of_pixels_x=4148,
        number_of_pixels_y=4362,
    )
    g = geometry_from_collection(
        make_dc(file_template="thau_2_master.h5", number_of_images=1800), e2, overrides=NO_OVERRIDES
    )
    xds = parse_xds_inp(render_xds(g))
    assert xds["NAME_TEMPLATE_OF_DATA_FRAMES"][0].endswith("/thau_2_??????.h5")
    assert xds["DETECTOR"] == ["EIGER"] and len(xds["UNTRUSTED_RECTANGLE"]) == 3 + 7
    assert "template=" not in render(fmt="dials", g=g).split("dials.import")[1]
    assert parse_mosflm(render(fmt="mosflm", g=g))["template"] == ["thau_2_master.h5"]


def test_still_images_get_no_rotation_job() -> None:
    g = geometry_from_collection(make_dc(axis_range=0.0, number_of_images=19), P6M, overrides=NO_OVERRIDES)
    assert g.kind == "still"
    with pytest.raises(NotRotation, match="XDS processes rotation data; this is still images"):
        render_xds(g)
    with pytest.raises(NotRotation, match="MOSFLM processes rotation data"):
        render(fmt="mosflm", g=g)
    assert "geometry.scan.oscillation" not in render(fmt="dials", g=g)


@pytest.mark.parametrize("experiment_type", ["Mesh", "Mesh3D"])
def test_grid_scans_get_no_rotation_job_whatever_the_oscillation(experiment_type: str) -> None:
    g = geometry_from_collection(
        make_dc(experiment_type=experiment_type, axis_range=0.1), P6M, overrides=NO_OVERRIDES
    )
    assert g.kind == "grid"
    with pytest.raises(NotRotation, match="this is a grid scan"):
        render_xds(g)


@pytest.mark.parametrize(
    "experiment_type, friedel", [("SAD", "FALSE"), ("MAD", "FALSE"), ("OSC", "TRUE"), (None, "TRUE")]
)
def test_friedels_law_follows_the_experiment_type(experiment_type: str | None, friedel: str) -> None:
    g = geometry_from_collection(make_dc(experiment_type=experiment_type), P6M, overrides=NO_OVERRIDES)
    assert parse_xds_inp(render_xds(g))["FRIEDEL'S_LAW"] == [friedel]


@pytest.mark.parametrize(
    "given, expected",
    [
        ("tlys_jan_4_1_####.cbf", "tlys_jan_4_1_####.cbf"),
        ("rory_w1_1_%04d.cbf", "rory_w1_1_####.cbf"),
        ("x_%5d.cbf", "x_#####.cbf"),
        ("../../rory_w1_1_????.cbf", "../../rory_w1_1_####.cbf"),
    ],
)
def test_normalise_template(given: str, expected: str) -> None:
    assert normalise_template(given) == expected


@pytest.mark.parametrize(
    "name, expected",
    [
        ("thau_3_2_0001.cbf.bz2", ("thau_3_2_####.cbf.bz2", 1)),
        ("/a/b/l-cyst_01_00015.cbf", ("l-cyst_01_#####.cbf", 15)),
        ("DLS_I23_P12M_thau_00001.cbf.gz", ("DLS_I23_P12M_thau_#####.cbf.gz", 1)),
        ("noimage.cbf", None),
    ],
)
def test_template_from_filename(name: str, expected: tuple[str, int] | None) -> None:
    assert template_from_filename(name) == expected


def test_negative_oscillation_reverses_the_axis() -> None:
    g = geometry_from_collection(make_dc(axis_start=10.0, axis_range=-0.1), P6M, overrides=NO_OVERRIDES)
    xds = parse_xds_inp(render_xds(g))
    assert xds["OSCILLATION_RANGE"] == ["0.1000"] and xds["STARTING_ANGLE"] == ["-10.0000"]
    assert xds["ROTATION_AXIS"] == ["-1.0 0.0 0.0"]
    assert "geometry.goniometer.axis=-1,0,0" in render(fmt="dials", g=g)


def test_zero_images_is_missing_geometry() -> None:
    with pytest.raises(MissingGeometry) as info:
        geometry_from_collection(make_dc(number_of_images=0), P6M, overrides=NO_OVERRIDES)
    assert info.value.missing == ["number of images"]


def test_docs_name_every_missing_item_and_override_field() -> None:
    from tests.site_adapter.reprocess.reference import REPO_ROOT

    docs = (REPO_ROOT / "docs" / "reprocessing.md").read_text(encoding="utf-8")
    for name in (
        "wavelength",
        "detector pixel size",
        "detector size in pixels",
        "detector distance",
        "beam centre",
        "start angle",
        "oscillation range",
        "file template",
        "number of images",
    ):
        assert name in docs
    for field_name in (
        "sensor_thickness",
        "sensor_material",
        "overload",
        "rotation_axis",
        "mosflm_beam_order",
    ):
        assert f"`{field_name}`" in docs
