"""Our detector and goniometer vectors against cbflib's (PyPI pycbf), for every CBF fixture, frame-free.

cbflib is the CBF format's reference reader. Each file is read by pycbf in a child process (cbflib
aborts the process on some files without a goniometer), and compared by dot products, which do not
depend on the laboratory frame. Files whose header holds no `_axis` loop (pure miniCBF) have no cbflib
geometry (CBF_NOTFOUND); for them the PILATUS miniCBF convention of dxtbx's FormatCBFMiniPilatus is the
reference: fast along +X, slow along -Y, beam along -Z, spindle along +X, Beam_xy in pixels.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from site_adapter.axes import LabFrame, cross, dot, resolve, unit
from site_adapter.indexer.cbf_header import read_header
from site_adapter.reprocess import Overrides, geometry_from_header, render_xds
from tests.site_adapter.reprocess.reference import fixtures_dir, floats, parse_xds_inp

pytest.importorskip("pycbf", reason="pycbf (cbflib) is in the test extra")

IMAGES = fixtures_dir() / "images"
WITH_AXES = [
    "l_cysteine/l-cyst_01_00001.cbf",  # I19: detector turned 90 deg, 2theta 30, omega scan
    "l_cysteine/l-cyst_04_00001.cbf",  # I19: phi scan with phi at chi -54.7
    "dialects/dxtbx_i19_omega_scan.cbf",  # I19 kappa goniometer, negative omega increment
    "dialects/dxtbx_i19_phi_scan_001.cbf",  # phi scan at kappa 30, omega -10: the axis is turned
    "image_examples/DLS_I03_smargon_0001.cbf.gz",
    "kapton_test_data/rayonix340/hit-20181213155134902.cbf",  # a still: detector only
]
MINICBF = [
    "thaumatin_grid/thau_3_2_0001.cbf.bz2",
    "image_examples/DLS_I23_P12M_thau_00001.cbf.gz",
    "image_examples/dlsnxs2cbf_therm_0001.cbf.gz",
    "dialects/psi_in16c_010001.cbf",
]

# Runs in a child: decompress if needed, read with cbflib, print its geometry as JSON. The lab rotation
# axis comes from cbflib's own goniometer matrices (rotate_vector at the scan's start and end), so it
# includes the turn of every axis the scan axis depends on.
_CHILD = r"""
import bz2, gzip, json, shutil, sys, tempfile
import numpy as np, pycbf
path = sys.argv[1]
if path.endswith((".gz", ".bz2")):
    opener = gzip.open if path.endswith(".gz") else bz2.open
    tmp = tempfile.NamedTemporaryFile(suffix=".cbf", delete=False)
    with opener(path) as src:
        shutil.copyfileobj(src, tmp)
    tmp.close()
    path = tmp.name
h = pycbf.cbf_handle_struct()
h.read_widefile(path.encode(), pycbf.MSG_DIGEST)
out = {}
d = h.construct_detector(0)
out["fast"] = list(d.get_detector_axis_fast())
out["slow"] = list(d.get_detector_axis_slow())
out["normal"] = list(d.get_detector_normal())
out["distance"] = d.get_detector_distance()
slow_index, fast_index, slow_mm, fast_mm = d.get_beam_center()
out["beam_index"] = [fast_index, slow_index]
out["origin"] = list(d.get_pixel_coordinates(0, 0))
if "--goniometer" in sys.argv:
    g = h.construct_goniometer()
    out["datum_axis"] = list(g.get_rotation_axis())
    out["range"] = list(g.get_rotation_range())
    R = lambda r: np.array([g.rotate_vector(r, *e) for e in np.eye(3)]).T
    M = R(1.0) @ np.linalg.inv(R(0.0))
    w, v = np.linalg.eig(M)
    axis = np.real(v[:, np.argmin(abs(w - 1))])
    u = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0])
    if np.dot(np.cross(u, M @ u), axis) < 0:  # the sense in which the scan turns
        axis = -axis
    out["lab_axis"] = list(axis)
print(json.dumps(out))
"""


def cbflib(path: Path, goniometer: bool) -> dict:
    args = [sys.executable, "-c", _CHILD, str(path)] + (["--goniometer"] if goniometer else [])
    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def ours(name: str) -> LabFrame:
    header = read_header(IMAGES / name)
    assert header.axes is not None, f"{name}: no imgCIF axes read"
    return resolve(header.axes)


@pytest.mark.parametrize("name", WITH_AXES, ids=[n.split("/")[-1] for n in WITH_AXES])
def test_detector_agrees_with_cbflib(name: str) -> None:
    lab = ours(name)
    ref = cbflib(IMAGES / name, goniometer=False)
    f, s = unit(tuple(ref["fast"])), unit(tuple(ref["slow"]))
    # Frame-free: the same vectors in cbflib's frame have the same mutual dot products as ours, and the
    # pixel origin and beam (cbflib: the Z axis, toward the source; ours: where the beam travels) agree.
    beam_ref = (0.0, 0.0, -1.0)
    assert dot(lab.fast, lab.beam) == pytest.approx(dot(f, beam_ref), abs=1e-6)
    assert dot(lab.slow, lab.beam) == pytest.approx(dot(s, beam_ref), abs=1e-6)
    assert dot(cross(lab.fast, lab.slow), lab.beam) == pytest.approx(dot(cross(f, s), beam_ref), abs=1e-6)
    assert dot(lab.origin, lab.fast) == pytest.approx(dot(tuple(ref["origin"]), f), abs=1e-6)
    assert dot(lab.origin, lab.slow) == pytest.approx(dot(tuple(ref["origin"]), s), abs=1e-6)
    assert dot(lab.origin, lab.beam) == pytest.approx(dot(tuple(ref["origin"]), beam_ref), abs=1e-6)
    assert abs(lab.distance) == pytest.approx(ref["distance"], abs=1e-6)
    centre = lab.beam_centre
    assert centre is not None
    assert (centre[0] / lab.fast_step, centre[1] / lab.slow_step) == pytest.approx(
        ref["beam_index"], abs=1e-6
    )


@pytest.mark.parametrize(
    "name",
    [n for n in WITH_AXES if "rayonix" not in n],
    ids=[n.split("/")[-1] for n in WITH_AXES if "rayonix" not in n],
)
def test_rotation_axis_agrees_with_cbflib(name: str) -> None:
    lab = ours(name)
    ref = cbflib(IMAGES / name, goniometer=True)
    beam_ref = (0.0, 0.0, -1.0)
    f, s = unit(tuple(ref["fast"])), unit(tuple(ref["slow"]))
    axis = unit(tuple(ref["lab_axis"]))
    # `axis` is the direction the crystal actually turns about (right-handed, from cbflib's matrices);
    # ours turns by lab.increment (negative for the omega scan) about rotation_axis
    sense = 1.0 if lab.increment > 0 else -1.0
    assert lab.rotation_axis is not None
    ours_axis = tuple(sense * c for c in lab.rotation_axis)
    for mine, theirs in ((lab.fast, f), (lab.slow, s), (lab.beam, beam_ref)):
        assert dot(ours_axis, mine) == pytest.approx(dot(axis, theirs), abs=1e-5)
    assert (lab.start_angle, abs(lab.increment)) == pytest.approx((ref["range"][0], abs(ref["range"][1])))


def test_i19_sweeps_are_not_the_default_frame() -> None:
    """The issue's own numbers: sweep 01 fast (0, 0.866, 0.5), slow = omega = (1, 0, 0); sweep 04 rotates
    about (0.5774, -0.8165, 0). Written into XDS.INP in the detector's frame."""
    g1 = geometry_from_header(
        read_header(IMAGES / "l_cysteine/l-cyst_01_00001.cbf"),
        template="l-cyst_01_#####.cbf",
        image_directory=None,
        number_of_images=15,
        overrides=Overrides(),
    )
    xds1 = parse_xds_inp(render_xds(g1))
    assert floats(xds1["ROTATION_AXIS"][0]) == pytest.approx([0.0, 1.0, 0.0], abs=1e-6)
    g4 = geometry_from_header(
        read_header(IMAGES / "l_cysteine/l-cyst_04_00001.cbf"),
        template="l-cyst_04_#####.cbf",
        image_directory=None,
        number_of_images=15,
        overrides=Overrides(),
    )
    assert g4.lab is not None and g4.lab.rotation_axis == pytest.approx((0.5774, -0.8165, 0.0), abs=1e-3)
    xds4 = parse_xds_inp(render_xds(g4))
    # detector frame: x = fast (0, 1, 0), y = slow (1, 0, 0), z = normal (0, 0, -1)
    assert floats(xds4["ROTATION_AXIS"][0]) == pytest.approx([-0.816474, 0.577382, 0.0], abs=1e-5)


@pytest.mark.parametrize("name", MINICBF, ids=[n.split("/")[-1] for n in MINICBF])
def test_minicbf_without_axes_follows_the_pilatus_convention(name: str) -> None:
    header = read_header(IMAGES / name)
    assert header.axes is None
    g = geometry_from_header(
        header, template="x_####.cbf", image_directory=None, number_of_images=1, overrides=Overrides()
    )
    lab = g.lab
    assert lab is not None
    assert (lab.fast, lab.slow, lab.beam) == ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0))
    assert dot(lab.rotation_axis or (1.0, 0.0, 0.0), lab.fast) == pytest.approx(1.0)
    assert (g.orgx, g.orgy) == pytest.approx((header.beam_x, header.beam_y), abs=1e-9)
    assert g.distance == pytest.approx(header.detector_distance)


def test_cbflib_cannot_read_a_minicbf_geometry() -> None:
    """Why the miniCBF files above are checked against the convention: cbflib finds no axes in them."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(IMAGES / "dialects/psi_in16c_010001.cbf")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and "CBF_NOTFOUND" in done.stderr
