"""Resolution rings on a turned detector (I19, 2θ arm) against cbflib: every point of each ring must lie
within one pixel of where d = λ / (2 sin θ) holds, with θ computed from cbflib's own pixel positions
(pycbf's get_pixel_coordinates) and its wavelength -- not from our geometry model. Frame-free: the I19
dialect files have headers and blank pixels; rings need only geometry.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from site_adapter.indexer.cbf_header import read_header
from site_adapter.indexer.rings import ICE_RINGS, from_header

pytest.importorskip("pycbf", reason="pycbf (cbflib) is in the test extra")

FILES = [
    "dialects/dxtbx_i19_omega_scan.cbf",
    "dialects/dxtbx_i19_phi_scan_001.cbf",
    "l_cysteine/l-cyst_01_00001.cbf",
]
SPACINGS = (6.0, 3.0, 2.0, 1.5, 1.0)

# In a child (cbflib aborts the process on some files): for each (fast, slow) position, 2θ there and at
# the four neighbours one pixel away, from cbflib's laboratory coordinates; the beam runs along -Z, the
# imgCIF convention cbflib's frame is defined by.
_CHILD = r"""
import json, math, sys
import pycbf
h = pycbf.cbf_handle_struct()
h.read_widefile(sys.argv[1].encode(), pycbf.MSG_DIGEST)
d = h.construct_detector(0)
points = json.loads(sys.stdin.read())
def two_theta(fast, slow):
    x, y, z = d.get_pixel_coordinates(slow, fast)
    return math.acos(-z / math.sqrt(x * x + y * y + z * z))
out = []
for fast, slow in points:
    out.append([two_theta(fast, slow)] + [two_theta(fast + a, slow + b) for a, b in ((1, 0), (-1, 0), (0, 1), (0, -1))])
print(json.dumps({"wavelength": h.get_wavelength(), "two_theta": out}))
"""


def _cbflib(path: str, points: list[tuple[float, float]]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, path],
        input=json.dumps(points),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("name", FILES)
def test_rings_lie_within_a_pixel_of_braggs_law(images, name):
    path = str(images / name)
    header = read_header(path)
    g = from_header(header.to_dict())  # from the stored (JSON) header, as the site serves it
    rings = {d: g.ring(d) for d in (*SPACINGS, *ICE_RINGS)}
    on = {
        d: [p for p in pts if 0 <= p[0] < g.nx and 0 <= p[1] < g.ny]
        for d, pts in rings.items()
        if pts is not None
    }
    on = {d: pts for d, pts in on.items() if pts}
    assert len(on) >= 3, f"too few rings on the detector: {sorted(on)}"
    flat = [(d, p) for d, pts in on.items() for p in pts]
    ref = _cbflib(path, [p for _, p in flat])
    assert ref["wavelength"] == pytest.approx(g.wavelength, rel=1e-6)
    worst = 0.0
    for (d, _), (at, *around) in zip(flat, ref["two_theta"], strict=True):
        target = 2 * math.asin(ref["wavelength"] / (2 * d))
        per_pixel = max(abs(a - at) for a in around)  # 2θ's change across one pixel, the steepest way
        worst = max(worst, abs(at - target) / per_pixel)
    assert worst < 1.0, f"a ring point lies {worst:.2f} pixels from its d-spacing"


def test_tilted_detector_rings_are_not_circles(images):
    """On the 2θ = 30° detector a ring's distance from the beam centre varies by many pixels."""
    g = from_header(read_header(str(images / "l_cysteine/l-cyst_01_00001.cbf")))
    bx, by = g.beam_centre() or (math.nan, math.nan)
    ring = g.ring(2.0) or []
    radii = [math.hypot(x - bx, y - by) for x, y in ring]
    assert max(radii) - min(radii) > 50


def test_resolution_at_a_ring_point_is_its_spacing(images):
    g = from_header(read_header(str(images / "dialects/dxtbx_i19_omega_scan.cbf")))
    for d in SPACINGS:
        for x, y in (g.ring(d) or [])[::20]:
            assert g.resolution_at(x, y) == pytest.approx(d, rel=1e-9)
