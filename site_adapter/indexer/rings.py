"""Resolution rings, ice rings and the beam centre on a detector, from the geometry model (axes.LabFrame).

A ring of spacing d is the cone of scattered rays at 2θ = 2·asin(λ/2d) around the beam; where the cone
meets the detector plane is a conic (a circle only for a detector square to the beam). Each ring is
sampled as a polyline of pixel positions, so a tilted or offset detector (I19's 2θ arm) gets the true
ellipse. Pixel positions are (fast, slow) indices with pixel centres at integers, as LabFrame.origin
places pixel index (0, 0). Pure arithmetic; reads nothing. Issue 22.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from site_adapter.axes import LabFrame, Vector, add, cross, dot, scale, sub, unit

# Hexagonal ice (Ih) d-spacings, Å: the strong powder lines that cryo-cooled crystals show (the list
# DIALS' and Braggy's ice-ring overlays use; Hobbs 1974 lattice a = 4.497, c = 7.322 Å at 100 K).
ICE_RINGS = (3.897, 3.669, 3.441, 2.671, 2.249, 2.072, 1.948, 1.918, 1.883, 1.721)
DEFAULT_RINGS = (20.0, 10.0, 6.0, 4.0, 3.0, 2.5, 2.0, 1.7, 1.5, 1.3, 1.2, 1.1, 1.0, 0.9, 0.8)
POINTS = 180  # polyline samples per ring (every 2 degrees of azimuth)


@dataclass(frozen=True, slots=True)
class DetectorGeometry:
    """What the page needs to draw rings and answer a click: the lab frame, the wavelength (Å), the
    detector's size in pixels."""

    lab: LabFrame
    wavelength: float
    nx: int
    ny: int

    def position(self, fast: float, slow: float) -> Vector:
        """The laboratory position (mm) of pixel position (fast, slow)."""
        lab = self.lab
        return add(
            lab.origin, add(scale(lab.fast, fast * lab.fast_step), scale(lab.slow, slow * lab.slow_step))
        )

    def resolution_at(self, fast: float, slow: float) -> float | None:
        """d (Å) at a pixel position: λ / (2 sin θ), 2θ the angle between the beam and the ray to the
        pixel; None on the direct beam."""
        ray = unit(self.position(fast, slow))
        c = max(-1.0, min(1.0, dot(ray, unit(self.lab.beam))))
        two_theta = math.acos(c)
        if two_theta < 1e-9:
            return None
        return self.wavelength / (2.0 * math.sin(two_theta / 2.0))

    def beam_centre(self) -> tuple[float, float] | None:
        """Where the direct beam meets the detector, as a pixel position."""
        mm = self.lab.beam_centre
        if mm is None:
            return None
        return mm[0] / self.lab.fast_step, mm[1] / self.lab.slow_step

    def ring(self, d: float, points: int = POINTS) -> list[tuple[float, float]] | None:
        """The ring of spacing d (Å) as pixel positions, in azimuth order; only points where the cone
        meets the detector plane in front of the sample (inside or outside the detector's edges: the
        page clips). None when λ/2d > 1 (no such reflection at this wavelength)."""
        s = self.wavelength / (2.0 * d)
        if d <= 0 or s >= 1.0:
            return None
        two_theta = 2.0 * math.asin(s)
        beam = unit(self.lab.beam)
        helper: Vector = (1.0, 0.0, 0.0) if abs(beam[0]) < 0.9 else (0.0, 1.0, 0.0)
        u = unit(cross(beam, helper))
        v = cross(beam, u)
        n = self.lab.normal
        origin_n = dot(self.lab.origin, n)
        out: list[tuple[float, float]] = []
        for k in range(points):
            phi = 2.0 * math.pi * k / points
            ray = add(
                scale(beam, math.cos(two_theta)),
                scale(add(scale(u, math.cos(phi)), scale(v, math.sin(phi))), math.sin(two_theta)),
            )
            along = dot(ray, n)
            if abs(along) < 1e-12:
                continue
            t = origin_n / along
            if t <= 0:  # the ray leaves away from the detector plane
                continue
            p = sub(scale(ray, t), self.lab.origin)
            out.append(
                (dot(p, self.lab.fast) / self.lab.fast_step, dot(p, self.lab.slow) / self.lab.slow_step)
            )
        return out or None

    def to_json(self, d_spacings: tuple[float, ...] = DEFAULT_RINGS, ice: bool = True) -> dict[str, Any]:
        """Rings, ice rings, the beam centre, and the geometry itself, so a page can compute the
        resolution at any pixel with `formula`."""
        lab = self.lab
        return {
            "wavelength": self.wavelength,
            "nx": self.nx,
            "ny": self.ny,
            "origin": list(lab.origin),
            "fast": list(lab.fast),
            "slow": list(lab.slow),
            "beam": list(unit(lab.beam)),
            "fastStep": lab.fast_step,
            "slowStep": lab.slow_step,
            "beamCentre": list(bc) if (bc := self.beam_centre()) is not None else None,
            "formula": (
                "p = origin + fast*fastStep*x + slow*slowStep*y (mm, x/y pixel positions); "
                "2θ = acos(p·beam / |p|); d = wavelength / (2 sin(2θ/2)) in Å"
            ),
            "units": {"wavelength": "Å", "origin": "mm", "fastStep": "mm", "rings": "pixel positions"},
            "rings": _rings(self, d_spacings, "resolution"),
            "iceRings": _rings(self, ICE_RINGS, "ice") if ice else [],
        }


def _rings(g: DetectorGeometry, spacings: tuple[float, ...], kind: str) -> list[dict[str, Any]]:
    out = []
    for d in spacings:
        points = g.ring(d)
        if points is None:
            continue
        on = [p for p in points if -0.5 <= p[0] <= g.nx - 0.5 and -0.5 <= p[1] <= g.ny - 0.5]
        if not on:  # entirely off the detector
            continue
        out.append({"d": d, "kind": kind, "points": [[round(x, 2), round(y, 2)] for x, y in points]})
    return out


def from_header(header: Any, template: str = "image_#####.cbf") -> DetectorGeometry:
    """The detector geometry an image's header states (a CbfHeader or its stored JSON form), through the
    reprocessing geometry (site_adapter/reprocess/geometry.py): the header's own axes when it has them,
    else the PILATUS miniCBF conventions with its 2θ. Raises MissingGeometry when it lacks what rings need."""
    from types import SimpleNamespace

    from site_adapter.reprocess.geometry import MissingGeometry, geometry_from_header

    def wrap(v: Any) -> Any:
        if isinstance(v, dict):
            return SimpleNamespace(**{k: wrap(x) for k, x in v.items()})
        if isinstance(v, list):
            return tuple(wrap(x) for x in v)
        return v

    if isinstance(header, dict):
        axes = header.get("axes")
        header = wrap({k: v for k, v in header.items() if k != "axes"})
        header.axes = axes  # axes.from_dict reads the stored form
    # The template only satisfies the reprocessing writers' needs; rings do not use it.
    g = geometry_from_header(header, template=template, image_directory=None, number_of_images=1)
    if g.lab is None:
        raise MissingGeometry(["detector axes"], "this image")
    return DetectorGeometry(g.lab, g.wavelength, g.nx, g.ny)
