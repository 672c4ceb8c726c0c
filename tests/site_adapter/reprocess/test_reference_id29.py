"""Against the real ESRF ID29 reference: our inputs from its CBF header vs the beamline's XDS.INP and MOSFLM.

The header reaches the generators two ways: through site_adapter.indexer.cbf_header (when present) and as
a transcription of seed/id29_pilatus3_6m_header.cbf.txt, so the reference values are checked either way.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from site_adapter.reprocess import (
    Overrides,
    geometry_from_header,
    render_dials,
    render_mosflm,
    render_xds,
)
from tests.site_adapter.reprocess.reference import floats, parse_mosflm, parse_xds_inp

TEMPLATE = "rory_w1_1_####.cbf"  # the beamline's MOSFLM template (XDS wrote ../../rory_w1_1_????.cbf)
DIRECTORY = "/data/id29/inhouse/opid291/20150722/RAW_DATA/rory"

# seed/id29_pilatus3_6m_header.cbf.txt, in canonical units (m -> mm), with the MIME block's dimensions.
TRANSCRIBED = SimpleNamespace(
    detector="PILATUS3 6M",
    serial_number="60-0128",
    pixel_size_x=0.172,
    pixel_size_y=0.172,
    sensor_material="Silicon",
    sensor_thickness=0.320,
    exposure_time=0.02,
    exposure_period=0.02095,
    count_cutoff=1048500,
    wavelength=0.97625,
    detector_distance=218.607,
    beam_x=1234.63,
    beam_y=1254.24,
    flux=3.7e11,
    transmission=6.63615401085,
    start_angle=144.0,
    angle_increment=0.1,
    polarization=0.99,
    oscillation_axis="omega",
    n_oscillations=1220,
    dimensions=(2463, 2527),
    format="cbf",
)


def _parsed_header(seed: Path) -> Any:
    cbf_header = pytest.importorskip(
        "site_adapter.indexer.cbf_header", reason="site_adapter.indexer.cbf_header not written yet"
    )
    return cbf_header.parse_header_text((seed / "id29_pilatus3_6m_header.cbf.txt").read_text())


@pytest.fixture(params=["parser", "transcribed"])
def header(request: pytest.FixtureRequest, seed: Path) -> Any:
    return _parsed_header(seed) if request.param == "parser" else TRANSCRIBED


@pytest.fixture
def beamline_xds(seed: Path) -> dict[str, list[str]]:
    return parse_xds_inp((seed / "id29_XDS.INP").read_text())


@pytest.fixture
def beamline_mosflm(seed: Path) -> dict[str, list[str]]:
    return parse_mosflm((seed / "id29_mosflm.inp").read_text())


def ours_xds(header: Any, overrides: Overrides | None = None) -> dict[str, list[str]]:
    g = geometry_from_header(
        header,
        template=TEMPLATE,
        image_directory=DIRECTORY,
        number_of_images=None,
        overrides=overrides or Overrides(),
    )
    return parse_xds_inp(render_xds(g))


def one(d: dict[str, list[str]], key: str) -> str:
    assert key in d, f"{key} missing"
    assert len(d[key]) == 1, f"{key} given {len(d[key])} times"
    return d[key][0]


@pytest.mark.parametrize(
    "key, tolerance",
    [
        ("ORGX", 0.01),
        ("ORGY", 0.01),  # pixels
        ("DETECTOR_DISTANCE", 0.005),  # mm: header 0.218607 m, beamline rounded to 218.61
        ("OSCILLATION_RANGE", 1e-4),
        ("STARTING_ANGLE", 1e-4),
        ("X-RAY_WAVELENGTH", 1e-5),
        ("QX", 1e-4),
        ("QY", 1e-4),
        ("FRACTION_OF_POLARIZATION", 1e-3),
        ("MINIMUM_VALID_PIXEL_VALUE", 0),
    ],
)
def test_geometry_values_match_beamline(header: Any, beamline_xds: dict, key: str, tolerance: float) -> None:
    assert float(one(ours_xds(header), key)) == pytest.approx(float(one(beamline_xds, key)), abs=tolerance)


@pytest.mark.parametrize(
    "key",
    [
        "DATA_RANGE",
        "NX",
        "NY",
        "OVERLOAD",
        "STARTING_FRAME",
        "DETECTOR",
        "JOB",
        "BACKGROUND_RANGE",
        "SPOT_RANGE",
        "TRUSTED_REGION",
        "MINIMUM_NUMBER_OF_PIXELS_IN_A_SPOT",
        "VALUE_RANGE_FOR_TRUSTED_DETECTOR_PIXELS",
        "DIRECTION_OF_DETECTOR_X-AXIS",
        "DIRECTION_OF_DETECTOR_Y-AXIS",
        "ROTATION_AXIS",
        "INCIDENT_BEAM_DIRECTION",
        "POLARIZATION_PLANE_NORMAL",
        "SPACE_GROUP_NUMBER",
        "UNIT_CELL_CONSTANTS",
        "INCLUDE_RESOLUTION_RANGE",
    ],
)
def test_values_equal_beamline(header: Any, beamline_xds: dict, key: str) -> None:
    ours = ours_xds(header)[key]
    theirs = beamline_xds[key]
    if key in ("DETECTOR", "JOB"):
        assert ours == theirs
    else:
        assert [floats(v) for v in ours] == [floats(v) for v in theirs]


def test_fifteen_untrusted_rectangles_exactly(header: Any, beamline_xds: dict) -> None:
    theirs = [tuple(int(v) for v in r.split()) for r in beamline_xds["UNTRUSTED_RECTANGLE"]]
    ours = [tuple(int(v) for v in r.split()) for r in ours_xds(header)["UNTRUSTED_RECTANGLE"]]
    assert len(theirs) == 15
    assert ours == theirs


def test_template_names_the_same_frames(header: Any, beamline_xds: dict) -> None:
    ours = one(ours_xds(header), "NAME_TEMPLATE_OF_DATA_FRAMES")
    theirs = one(beamline_xds, "NAME_TEMPLATE_OF_DATA_FRAMES")
    assert ours == f"{DIRECTORY}/rory_w1_1_????.cbf"
    assert ours.rsplit("/", 1)[1] == theirs.rsplit("/", 1)[1]


def test_every_keyword_the_issue_names_is_written(header: Any) -> None:
    required = {
        "JOB",
        "DATA_RANGE",
        "SPOT_RANGE",
        "BACKGROUND_RANGE",
        "UNTRUSTED_RECTANGLE",
        "TRUSTED_REGION",
        "MINIMUM_NUMBER_OF_PIXELS_IN_A_SPOT",
        "OSCILLATION_RANGE",
        "STARTING_ANGLE",
        "STARTING_FRAME",
        "X-RAY_WAVELENGTH",
        "NAME_TEMPLATE_OF_DATA_FRAMES",
        "DETECTOR_DISTANCE",
        "DETECTOR",
        "MINIMUM_VALID_PIXEL_VALUE",
        "OVERLOAD",
        "SENSOR_THICKNESS",
        "ORGX",
        "ORGY",
        "NX",
        "NY",
        "QX",
        "QY",
        "VALUE_RANGE_FOR_TRUSTED_DETECTOR_PIXELS",
        "DIRECTION_OF_DETECTOR_X-AXIS",
        "DIRECTION_OF_DETECTOR_Y-AXIS",
        "ROTATION_AXIS",
        "INCIDENT_BEAM_DIRECTION",
        "FRACTION_OF_POLARIZATION",
        "POLARIZATION_PLANE_NORMAL",
        "SPACE_GROUP_NUMBER",
        "UNIT_CELL_CONSTANTS",
        "INCLUDE_RESOLUTION_RANGE",
    }
    assert required <= set(ours_xds(header))


def test_sensor_thickness_from_header_unless_the_site_overrides(header: Any, beamline_xds: dict) -> None:
    # The beamline file says 1.00 mm, its own header 0.000320 m: we write the header's value...
    assert float(one(beamline_xds, "SENSOR_THICKNESS")) == pytest.approx(1.00)
    assert float(one(ours_xds(header), "SENSOR_THICKNESS")) == pytest.approx(0.320)
    # ...and a site that knows its sensor is 1 mm says so once, per detector serial number.
    site = Overrides.from_mapping({"detectors": [{"serial_number": "60-0128", "sensor_thickness": 1.0}]})
    xds = render_xds(
        geometry_from_header(
            header, template=TEMPLATE, image_directory=DIRECTORY, number_of_images=None, overrides=site
        )
    )
    theirs = float(one(beamline_xds, "SENSOR_THICKNESS"))
    assert float(one(parse_xds_inp(xds), "SENSOR_THICKNESS")) == pytest.approx(theirs)
    assert "site override for 60-0128" in xds


def test_mosflm_matches_beamline(header: Any, beamline_mosflm: dict) -> None:
    g = geometry_from_header(
        header, template=TEMPLATE, image_directory=DIRECTORY, number_of_images=None, overrides=Overrides()
    )
    ours = parse_mosflm(render_mosflm(g))
    assert float(ours["wavelength"][0]) == pytest.approx(float(beamline_mosflm["wavelength"][0]), abs=1e-6)
    assert float(ours["distance"][0]) == pytest.approx(float(beamline_mosflm["distance"][0]), abs=0.005)
    # The beamline script writes (fast, slow); MOSFLM's own frame (X across the spindle, Y along it), as
    # dxtbx's set_mosflm_beam_centre and xia2 use it, is (slow, fast) for this horizontal spindle along
    # fast. We follow the program's documented frame; the site override below reproduces the script.
    assert floats(" ".join(ours["beam"])) == pytest.approx([215.73, 212.36], abs=0.005)
    assert floats(" ".join(beamline_mosflm["beam"])) == [212.36, 215.73]
    assert ours["scanner"] == beamline_mosflm["scanner"] == ["PILATUS"]
    assert ours["synchrotron"] == beamline_mosflm["synchrotron"] == ["polar", "0.99"]
    assert ours["mosaic"] == beamline_mosflm["mosaic"]
    for key in ("directory", "template", "extension"):
        assert ours[key] == beamline_mosflm[key]
    assert ours["image"][0] == beamline_mosflm["image"][0] == "1"


def test_mosflm_fast_slow_override_reproduces_the_beamline_script(header: Any, beamline_mosflm: dict) -> None:
    site = Overrides.from_mapping({"detectors": [{"model": "PILATUS3 6M", "mosflm_beam_order": "fast-slow"}]})
    g = geometry_from_header(
        header, template=TEMPLATE, image_directory=DIRECTORY, number_of_images=None, overrides=site
    )
    assert floats(" ".join(parse_mosflm(render_mosflm(g))["beam"])) == pytest.approx(
        floats(" ".join(beamline_mosflm["beam"])), abs=0.005
    )


def test_vertical_rotation_axis_swaps_mosflm_beam_and_reaches_dials(header: Any) -> None:
    site = Overrides.from_mapping({"detectors": [{"serial_number": "60-0128", "rotation_axis": [0, 1, 0]}]})
    g = geometry_from_header(
        header, template=TEMPLATE, image_directory=DIRECTORY, number_of_images=None, overrides=site
    )
    assert floats(" ".join(parse_mosflm(render_mosflm(g))["beam"])) == pytest.approx(
        [212.36, 215.73], abs=0.005
    )
    assert floats(one(parse_xds_inp(render_xds(g)), "ROTATION_AXIS")) == [0.0, 1.0, 0.0]
    assert "geometry.goniometer.axis=0,-1,0" in render_dials(g)


def test_dials_import_overrides(header: Any) -> None:
    g = geometry_from_header(
        header, template=TEMPLATE, image_directory=DIRECTORY, number_of_images=None, overrides=Overrides()
    )
    text = render_dials(g)
    command = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    args = shlex.split(command.replace("\\\n", " "))  # as a shell would: continuations joined, quotes removed
    assert args[0] == "dials.import"
    values = dict(a.split("=", 1) for a in args[1:])
    assert values["template"] == f"{DIRECTORY}/rory_w1_1_####.cbf"
    assert floats(values["geometry.detector.fast_slow_beam_centre"].replace(",", " ")) == pytest.approx(
        [1234.63, 1254.24], abs=0.01
    )
    assert float(values["geometry.detector.distance"]) == pytest.approx(218.607, abs=0.001)
    assert float(values["geometry.beam.wavelength"]) == pytest.approx(0.97625, abs=1e-6)
    assert values["geometry.scan.image_range"] == "1,1220"
    assert floats(values["geometry.scan.oscillation"].replace(",", " ")) == pytest.approx([144.0, 0.1])
    assert not any("mosflm_beam_centre" in a for a in args)
