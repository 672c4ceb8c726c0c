"""Experiment geometry as image formats state it -- axes with vectors, offsets and a depends_on chain
(imgCIF `_axis`, NXmx `NXtransformations`) -- resolved into laboratory vectors in the imgCIF frame.

Pure arithmetic on 3-tuples (a dozen vectors per image: numpy would cost more than it saves); reads no
file and knows no format: the header readers build an AxisSet, the reprocessing writers read a LabFrame.
"""
# Sources. imgCIF/CBF dictionary 1.8: `_axis` (type, equipment, depends_on, vector, offset),
# `_array_structure_list_axis` (displacement of the first pixel, displacement_increment), and the
# laboratory frame: X along the principal goniometer axis, Z from the sample towards the source, Y
# completing a right-handed set. NXmx (NeXus application definition, 2020 revision) uses the McStas
# frame: Z along the beam, Y up, X = Y x Z; `NXtransformations` apply `offset`, then the move along or
# about `vector` -- the same composition as imgCIF. Turning McStas into imgCIF is a half turn about Y
# (x, y, z) -> (-x, y, -z), as dxtbx does for NXmx files.

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

Vector = tuple[float, float, float]
Matrix = tuple[Vector, Vector, Vector]

IMGCIF = "imgCIF"
MCSTAS = "McStas"
ROTATION = "rotation"
TRANSLATION = "translation"
MAX_CHAIN = 64  # a depends_on chain longer than this is a cycle or nonsense


class AxisError(ValueError):
    """The axes cannot be resolved (unknown axis, cycle, zero vector); the message names the axis."""


@dataclass(frozen=True, slots=True)
class Axis:
    """One axis as the file states it; `start` and `increment` are degrees (rotation) or mm
    (translation) at the first image and per image."""

    name: str
    kind: str  # "rotation" | "translation" | "general"
    equipment: str  # "detector" | "goniometer" | "source" | "gravity" | "general"
    vector: Vector
    offset: Vector = (0.0, 0.0, 0.0)  # mm
    depends_on: str | None = None  # the next axis towards the laboratory; None for "."
    start: float = 0.0
    increment: float = 0.0


@dataclass(frozen=True, slots=True)
class AxisSet:
    """What one image's header says about its geometry, in the header's own frame.

    `fast` and `slow` name the detector axes along which the pixel index runs fastest and next;
    `fast_start`/`slow_start` are their displacements (mm) at pixel index 0 and `fast_step`/`slow_step`
    the pixel pitch. `beam` is the direction the beam travels; None means the frame's default.
    """

    frame: str
    axes: tuple[Axis, ...]
    fast: str
    slow: str
    fast_step: float
    slow_step: float
    fast_start: float = 0.0
    slow_start: float = 0.0
    beam: Vector | None = None

    def axis(self, name: str) -> Axis:
        for a in self.axes:
            if a.name == name:
                return a
        raise AxisError(f"axis {name!r} is named but not defined")

    def scan_axes(self) -> list[Axis]:
        """Goniometer axes that move from image to image (rotation first, then translations)."""
        moving = [a for a in self.axes if a.equipment == "goniometer" and a.increment != 0.0]
        return sorted(moving, key=lambda a: a.kind != ROTATION)

    def resolve(self) -> LabFrame:
        return resolve(self)


@dataclass(frozen=True, slots=True)
class LabFrame:
    """The resolved geometry in the imgCIF laboratory frame; lengths in mm, angles in degrees.

    `origin` is where pixel index (0, 0) sits (imgCIF: the first data point, i.e. the first pixel's
    centre as the file places it); `rotation_axis` is the scan axis at the first image, turned by the
    settings of every axis it depends on; None for stills and grid scans.
    """

    fast: Vector
    slow: Vector
    origin: Vector
    beam: Vector
    rotation_axis: Vector | None
    scan_axis: str | None
    start_angle: float
    increment: float
    fast_step: float
    slow_step: float
    settings: tuple[tuple[str, float], ...] = ()  # every goniometer axis at the first image

    @property
    def normal(self) -> Vector:
        return unit(cross(self.fast, self.slow))

    @property
    def distance(self) -> float:
        """Signed distance from the sample to the detector plane along its normal (XDS's convention)."""
        return dot(self.origin, self.normal)

    @property
    def foot(self) -> tuple[float, float]:
        """The perpendicular foot of the sample on the detector, mm along (fast, slow) from pixel 0:
        XDS's ORGX/ORGY times the pixel size (XDS documentation, ORGX=)."""
        n = self.normal
        p = scale(n, dot(self.origin, n))
        d = sub(p, self.origin)
        return dot(d, self.fast), dot(d, self.slow)

    @property
    def beam_centre(self) -> tuple[float, float] | None:
        """Where the direct beam meets the detector plane, mm along (fast, slow) from pixel 0 (what
        cbflib's cbf_get_beam_center reports); None when the beam runs parallel to the plane."""
        n = self.normal
        along = dot(self.beam, n)
        if abs(along) < 1e-9:
            return None
        p = scale(self.beam, dot(self.origin, n) / along)
        d = sub(p, self.origin)
        return dot(d, self.fast), dot(d, self.slow)

    def in_detector_frame(self, v: Vector) -> Vector:
        """`v` in the frame whose X is the detector's fast axis and Y its slow axis (dxtbx's to_xds
        choice, which makes DIRECTION_OF_DETECTOR_X-AXIS= 1 0 0 and Y-AXIS= 0 1 0)."""
        return (dot(v, self.fast), dot(v, self.slow), dot(v, self.normal))


def dot(a: Vector, b: Vector) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def cross(a: Vector, b: Vector) -> Vector:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def add(a: Vector, b: Vector) -> Vector:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def sub(a: Vector, b: Vector) -> Vector:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def scale(a: Vector, k: float) -> Vector:
    return (a[0] * k, a[1] * k, a[2] * k)


def unit(a: Vector) -> Vector:
    n = math.sqrt(dot(a, a))
    if n == 0.0 or not math.isfinite(n):
        raise AxisError("zero or non-finite direction vector")
    return (a[0] / n, a[1] / n, a[2] / n)


def rotation(axis: Vector, degrees: float) -> Matrix:
    """Right-handed rotation by `degrees` about `axis` (Rodrigues' formula)."""
    x, y, z = unit(axis)
    t = math.radians(degrees)
    c, s = math.cos(t), math.sin(t)
    k = 1.0 - c
    return (
        (c + x * x * k, x * y * k - z * s, x * z * k + y * s),
        (y * x * k + z * s, c + y * y * k, y * z * k - x * s),
        (z * x * k - y * s, z * y * k + x * s, c + z * z * k),
    )


def apply(m: Matrix, v: Vector) -> Vector:
    return (dot(m[0], v), dot(m[1], v), dot(m[2], v))


def mcstas_to_imgcif(v: Vector) -> Vector:
    """NXmx (McStas) to imgCIF: a half turn about Y (see the module's sources)."""
    return (-v[0] + 0.0, v[1], -v[2] + 0.0)


def _chain(axes: AxisSet, name: str | None) -> list[Axis]:
    """The axes from `name` towards the laboratory, `name` first; raises on cycles and unknown names."""
    out: list[Axis] = []
    seen: set[str] = set()
    while name is not None:
        if name in seen or len(out) > MAX_CHAIN:
            raise AxisError(f"depends_on cycle through axis {name!r}")
        seen.add(name)
        a = axes.axis(name)
        out.append(a)
        name = a.depends_on
    return out


def _place(chain: list[Axis], point: Vector, values: dict[str, float]) -> Vector:
    """Carry `point` from the innermost axis's frame to the laboratory: each axis moves it along or
    about its vector by its value, then adds its offset (imgCIF and NXmx compose the same way)."""
    for a in chain:
        v = values.get(a.name, a.start)
        if a.kind == ROTATION:
            point = apply(rotation(a.vector, v), point)
        elif a.kind == TRANSLATION:
            point = add(point, scale(unit(a.vector), v))
        point = add(point, a.offset)
    return point


def _turn(chain: list[Axis], direction: Vector) -> Vector:
    """A direction carried through the rotations of `chain` (translations do not turn directions)."""
    for a in chain:
        if a.kind == ROTATION:
            direction = apply(rotation(a.vector, a.start), direction)
    return direction


def resolve(axes: AxisSet) -> LabFrame:
    """The laboratory geometry at the first image. Raises AxisError for unusable axes."""
    to_lab = mcstas_to_imgcif if axes.frame == MCSTAS else (lambda v: v)
    fast_chain = _chain(axes, axes.fast)
    slow_chain = _chain(axes, axes.slow)
    fast = unit(_turn(fast_chain[1:], unit(fast_chain[0].vector)))
    slow = unit(_turn(slow_chain[1:], unit(slow_chain[0].vector)))
    if abs(dot(fast, slow)) > 1e-3:
        raise AxisError(f"detector axes {axes.fast!r} and {axes.slow!r} are not perpendicular")
    # Pixel index (0, 0): each element axis at its first-pixel displacement. The slow chain normally
    # contains the fast one (imgCIF: ELEMENT_Y depends on ELEMENT_X); NXmx gives both the same parent.
    values = {axes.fast: axes.fast_start, axes.slow: axes.slow_start}
    if axes.fast in {a.name for a in slow_chain}:
        origin = _place(slow_chain, (0.0, 0.0, 0.0), values)
    elif axes.slow in {a.name for a in fast_chain}:
        origin = _place(fast_chain, (0.0, 0.0, 0.0), values)
    else:  # siblings (NXmx): the slow axis's own move, then the fast chain, parents shared
        slow_axis = slow_chain[0]
        point = add(scale(unit(slow_axis.vector), axes.slow_start), slow_axis.offset)
        origin = _place(fast_chain, point, values)
    if axes.beam is not None:
        beam = unit(axes.beam)
    else:
        source = next((a for a in axes.axes if a.equipment == "source"), None)
        # imgCIF's SOURCE axis points from the sample to the source: the beam travels the other way.
        beam = (
            scale(unit(source.vector), -1.0)
            if source is not None and axes.frame == IMGCIF
            else ((0.0, 0.0, -1.0) if axes.frame == IMGCIF else (0.0, 0.0, 1.0))
        )
    scans = axes.scan_axes()
    rotating = next((a for a in scans if a.kind == ROTATION), None)
    rotation_axis = None
    if rotating is not None:
        rotation_axis = to_lab(unit(_turn(_chain(axes, rotating.depends_on), unit(rotating.vector))))
    settings = tuple((a.name, a.start) for a in axes.axes if a.equipment == "goniometer")
    return LabFrame(
        fast=to_lab(fast),
        slow=to_lab(slow),
        origin=to_lab(origin),
        beam=to_lab(beam),
        rotation_axis=rotation_axis,
        scan_axis=(scans[0].name if scans else None),
        start_angle=rotating.start if rotating else 0.0,
        increment=rotating.increment if rotating else 0.0,
        fast_step=axes.fast_step,
        slow_step=axes.slow_step,
        settings=settings,
    )


def to_dict(axes: AxisSet) -> dict[str, Any]:
    """A JSON-able form (the indexer stores headers as JSON)."""
    return {
        "frame": axes.frame,
        "fast": axes.fast,
        "slow": axes.slow,
        "fast_step": axes.fast_step,
        "slow_step": axes.slow_step,
        "fast_start": axes.fast_start,
        "slow_start": axes.slow_start,
        "beam": list(axes.beam) if axes.beam is not None else None,
        "axes": [
            {
                "name": a.name,
                "kind": a.kind,
                "equipment": a.equipment,
                "vector": list(a.vector),
                "offset": list(a.offset),
                "depends_on": a.depends_on,
                "start": a.start,
                "increment": a.increment,
            }
            for a in axes.axes
        ],
    }


def from_dict(data: object) -> AxisSet | None:
    """The inverse of to_dict; an AxisSet passes through; anything unusable gives None."""
    if isinstance(data, AxisSet):
        return data
    if not isinstance(data, dict):
        return None
    try:
        return AxisSet(
            frame=str(data["frame"]),
            fast=str(data["fast"]),
            slow=str(data["slow"]),
            fast_step=float(data["fast_step"]),
            slow_step=float(data["slow_step"]),
            fast_start=float(data.get("fast_start") or 0.0),
            slow_start=float(data.get("slow_start") or 0.0),
            beam=_vec(data["beam"]) if data.get("beam") is not None else None,
            axes=tuple(
                Axis(
                    name=str(a["name"]),
                    kind=str(a["kind"]),
                    equipment=str(a["equipment"]),
                    vector=_vec(a["vector"]),
                    offset=_vec(a.get("offset") or (0, 0, 0)),
                    depends_on=a.get("depends_on"),
                    start=float(a.get("start") or 0.0),
                    increment=float(a.get("increment") or 0.0),
                )
                for a in data["axes"]
            ),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _vec(v: object) -> Vector:
    x, y, z = (float(c) for c in v)  # type: ignore[attr-defined]
    return (x, y, z)
