"""The generators on the other real fixture images (Pilatus 2M, 3 x 6M, 12M, Eiger2 16M), through the indexer's
header reader: layout from the library must agree with each file's own dimensions and Beam_xy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from site_adapter.reprocess import (
    NotRotation,
    Overrides,
    geometry_from_header,
    render_dials,
    render_mosflm,
    render_xds,
)
from site_adapter.reprocess.geometry import template_from_filename
from tests.site_adapter.reprocess.reference import floats, parse_mosflm, parse_xds_inp

# file, library model, (NX, NY), Beam_xy, distance mm, wavelength Å, Count_cutoff, gap rectangles
IMAGES = [
    (
        "l_cysteine/l-cyst_01_00001.cbf",
        "PILATUS 2M",
        (1475, 1679),
        (730.00, 865.00),
        160.0,
        0.68890,
        388705,
        9,
    ),
    (
        "thaumatin_grid/thau_3_2_0001.cbf.bz2",
        "PILATUS3 6M",
        (2463, 2527),
        (1261.61, 1306.96),
        351.0,
        0.96859,
        115897,
        15,
    ),
    (
        "image_examples/DLS_I03_smargon_0001.cbf.gz",
        "PILATUS3 6M",
        (2463, 2527),
        (1229.30, 1200.48),
        291.47,
        0.97625,
        91795,
        15,
    ),
    (
        "image_examples/DLS_I23_P12M_thau_00001.cbf.gz",
        "PILATUS 12M",
        (2463, 5071),
        (1080.00, 2595.00),
        10.0,
        2.75520,
        28575,
        27,
    ),
    # converted Eiger2 frame: its header says "EIGER 16M XR4i", its size is Eiger2's
    (
        "image_examples/dlsnxs2cbf_therm_0001.cbf.gz",
        "EIGER2 16M",
        (4148, 4362),
        (2216.06, 2300.41),
        213.96,
        0.98027,
        65535,
        10,
    ),
]


@pytest.fixture(scope="module")
def read_header() -> Any:
    module = pytest.importorskip(
        "site_adapter.indexer.cbf_header", reason="site_adapter.indexer.cbf_header not written yet"
    )
    return module.read_header


@pytest.mark.parametrize(
    "name, model, size, beam, distance, wavelength, cutoff, n_rects",
    IMAGES,
    ids=[i[0].split("/")[-1] for i in IMAGES],
)
def test_real_image(
    fixtures: Path,
    read_header: Any,
    name: str,
    model: str,
    size: tuple[int, int],
    beam: tuple[float, float],
    distance: float,
    wavelength: float,
    cutoff: int,
    n_rects: int,
) -> None:
    path = fixtures / "images" / name
    template, first = template_from_filename(str(path))  # type: ignore[misc]
    g = geometry_from_header(
        read_header(str(path)),
        template=template,
        image_directory=str(path.parent),
        number_of_images=100,
        first_image=first,
        overrides=Overrides(),
    )
    assert g.detector_model is not None and g.detector_model.name == model
    if g.kind != "rotation":  # the thaumatin grid: stills, so DIALS only
        assert (g.orgx, g.orgy) == pytest.approx(beam, abs=0.01)
        assert f"fast_slow_beam_centre={beam[0]:.2f},{beam[1]:.2f}" in render_dials(g)
        return
    xds_text = render_xds(g)
    assert "GENERIC" not in xds_text
    xds = parse_xds_inp(xds_text)
    assert (int(xds["NX"][0]), int(xds["NY"][0])) == size
    assert (float(xds["ORGX"][0]), float(xds["ORGY"][0])) == pytest.approx(beam, abs=0.01)
    assert float(xds["DETECTOR_DISTANCE"][0]) == pytest.approx(distance, abs=0.01)
    assert float(xds["X-RAY_WAVELENGTH"][0]) == pytest.approx(wavelength, abs=1e-5)
    assert int(xds["OVERLOAD"][0]) == cutoff
    assert len(xds["UNTRUSTED_RECTANGLE"]) == n_rects
    assert xds["DETECTOR"] == ["EIGER" if model.startswith("EIGER") else "PILATUS"]
    assert xds["DATA_RANGE"] == [f"{first} {first + 99}"]
    pixel = g.pixel_size_x
    mosflm = parse_mosflm(render_mosflm(g))
    # MOSFLM's frame: X across the spindle, Y along it. The I19 detector is turned so that its slow axis
    # lies along the spindle: (fast, slow); every other fixture has the spindle along fast: (slow, fast).
    spindle_along_slow = name.startswith("l_cysteine")
    expected = (beam[0], beam[1]) if spindle_along_slow else (beam[1], beam[0])
    # 0.005 mm: where the header states its axes (I03, I19) the position comes from the imgCIF offsets,
    # which DLS writes to 10 um (-211.44, 206.48), while Beam_xy x 0.172 gives 206.4826.
    assert floats(" ".join(mosflm["beam"])) == pytest.approx(
        [expected[0] * pixel, expected[1] * pixel], abs=0.005
    )
    if not spindle_along_slow:  # 2theta 0: the direct beam is the perpendicular foot
        centre = render_dials(g).split("fast_slow_beam_centre=")[1].split()[0]
        assert floats(centre.replace(",", " ")) == pytest.approx(beam, abs=0.03)  # 10 um offsets, as above


def test_grid_scan_stills_are_flagged(fixtures: Path, read_header: Any) -> None:
    path = fixtures / "images" / "thaumatin_grid" / "thau_3_2_0001.cbf.bz2"
    g = geometry_from_header(
        read_header(str(path)),
        template="thau_3_2_####.cbf",
        image_directory=None,
        number_of_images=19,
        overrides=Overrides(),
    )
    assert g.oscillation == 0 and g.kind == "still"
    with pytest.raises(NotRotation):
        render_xds(g)


def test_curved_12m_is_flagged(fixtures: Path, read_header: Any) -> None:
    path = fixtures / "images" / "image_examples" / "DLS_I23_P12M_thau_00001.cbf.gz"
    g = geometry_from_header(
        read_header(str(path)),
        template="DLS_I23_P12M_thau_#####.cbf",
        image_directory=None,
        number_of_images=1,
        overrides=Overrides(),
    )
    assert "PILATUS 12M is curved" in render_xds(g)


def test_two_theta_offset_detector(fixtures: Path, read_header: Any) -> None:
    # l-cyst (DLS I19-1): Detector_2theta 30.0000 deg.
    path = fixtures / "images" / "l_cysteine" / "l-cyst_01_00001.cbf"
    g = geometry_from_header(
        read_header(str(path)),
        template="l-cyst_01_#####.cbf",
        image_directory=None,
        number_of_images=15,
        overrides=Overrides(),
    )
    xds = parse_xds_inp(render_xds(g))
    # In the detector's own frame the beam comes in 30 deg off the normal, across the fast axis; the
    # spindle (omega) lies along the slow axis (cbflib: fast (0, .866, .5), slow = omega = (1, 0, 0)).
    assert floats(xds["INCIDENT_BEAM_DIRECTION"][0]) == pytest.approx([-0.5, 0.0, 0.866025], abs=1e-6)
    assert floats(xds["ROTATION_AXIS"][0]) == pytest.approx([0.0, 1.0, 0.0], abs=1e-6)
    assert (float(xds["ORGX"][0]), float(xds["ORGY"][0])) == pytest.approx((730.0, 865.0), abs=0.01)
    assert parse_mosflm(render_mosflm(g))["twotheta"] == ["30.00"]
    assert any("2theta 30.00" in n for n in g.notes)
