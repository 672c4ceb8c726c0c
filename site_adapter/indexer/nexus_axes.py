"""NXmx geometry: the `depends_on` chains of the sample, the detector and its first module, read from
an open HDF5 file into a site_adapter.axes.AxisSet in the McStas frame, every value converted by its
`units` attribute. Files without chains (the legacy DECTRIS layout) get the conventional axes.
"""
# Sources: NeXus NXmx application definition and NXtransformations base class (2020+ revisions):
# each transformation is a dataset whose value is the position (one per image for a scan), with
# attributes `transformation_type` (rotation | translation), `vector`, `offset`, `offset_units`,
# `units` and `depends_on` (an absolute or relative path, "." at the laboratory). NXdetector_module:
# `fast_pixel_direction`/`slow_pixel_direction` are translations whose value is the pixel size.
# Per-image scans also give `<axis>_increment_set` and `<axis>_end` beside the axis (DLS nexgen).

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass, replace
from typing import Any

import h5py
import numpy as np

from site_adapter.axes import MCSTAS, ROTATION, TRANSLATION, Axis, AxisSet
from site_adapter.indexer.cbf_header import HeaderError

# Length units to mm and angle units to degrees, as NeXus files spell them (UDUNITS names and symbols).
LENGTH_MM = {
    "m": 1000.0,
    "meter": 1000.0,
    "metre": 1000.0,
    "meters": 1000.0,
    "metres": 1000.0,
    "cm": 10.0,
    "mm": 1.0,
    "millimeter": 1.0,
    "millimetre": 1.0,
    "millimeters": 1.0,
    "millimetres": 1.0,
    "um": 1e-3,
    "µm": 1e-3,
    "μm": 1e-3,
    "micron": 1e-3,
    "microns": 1e-3,
    "micrometer": 1e-3,
    "micrometre": 1e-3,
    "nm": 1e-6,
    "nanometer": 1e-6,
    "nanometre": 1e-6,
}
ANGLE_DEG = {
    "deg": 1.0,
    "degree": 1.0,
    "degrees": 1.0,
    "°": 1.0,
    "rad": 180.0 / math.pi,
    "radian": 180.0 / math.pi,
    "radians": 180.0 / math.pi,
    "mrad": 0.18 / math.pi,
}
PIXELS = {"pixel", "pixels", "px"}
MAX_CHAIN = 64  # deeper than any goniometer or detector: a longer chain is a cycle or nonsense
# The legacy DECTRIS master states no axis vectors. dxtbx (FormatHDF5EigerNearlyNexus, EigerNXmxFixer)
# reads such files with a rotation about -x (McStas; imgCIF +x, as miniCBF headers assume) except for
# known vertical spindles by detector serial number, and detector fast/slow from NXgeometry orientation
# with the z component negated (DECTRIS firmware writes z the other way), else fast -x and slow -y.
LEGACY_ROTATION = (-1.0, 0.0, 0.0)
LEGACY_ROTATION_BY_SERIAL = {"E-32-0105": (0.0, 1.0, 0.0)}  # MAX IV BioMAX, vertical axis (dxtbx)
LEGACY_FAST, LEGACY_SLOW = (-1.0, 0.0, 0.0), (0.0, -1.0, 0.0)


def text(value: Any) -> str | None:
    """A string attribute or dataset value, whatever h5py returns for it (bytes, str, 1-element array)."""
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.flat[0]
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", "replace").strip()
    return value.strip() if isinstance(value, str) else None


def units_of(obj: h5py.HLObject, attr: str = "units") -> str | None:
    unit = text(obj.attrs.get(attr))
    return unit.lower() if unit else None


def factor(unit: str | None, table: dict[str, float], where: str, default: float | None = None) -> float:
    """The factor to canonical units; a missing unit takes `default`, an unknown one is an error."""
    if unit is None or unit == "":
        if default is None:
            raise HeaderError(f"{where}: no units attribute")
        return default
    try:
        return table[unit]
    except KeyError:
        raise HeaderError(f"{where}: unknown units {unit!r}") from None


@dataclass(frozen=True, slots=True)
class Node:
    """One transformation as read: canonical units, depends_on as an absolute path (None at the end)."""

    path: str
    kind: str
    vector: tuple[float, float, float]
    offset: tuple[float, float, float]
    depends_on: str | None
    start: float
    increment: float
    count: int  # values in the dataset (images, for a per-image scan)
    changes: bool  # the value differs between images


def _vector(raw: Any, where: str) -> tuple[float, float, float]:
    try:
        v = np.asarray(raw, dtype=float).ravel()
    except (TypeError, ValueError):
        v = np.zeros(0)
    if v.size != 3 or not np.all(np.isfinite(v)):
        raise HeaderError(f"{where}: needs a vector of 3 numbers, has {raw!r}")
    x, y, z = (float(c) for c in v)
    return (x, y, z)


def _numbers(obj: h5py.Dataset, where: str) -> np.ndarray:
    try:
        values = np.asarray(obj[()], dtype=float).ravel()
    except (TypeError, ValueError):
        raise HeaderError(f"{where}: value is not a number") from None
    if values.size == 0:
        raise HeaderError(f"{where}: empty dataset")
    return values


def dependency(obj: h5py.HLObject, raw: Any) -> str | None:
    """A depends_on value as an absolute path; None for "." (the laboratory). Relative paths are
    relative to the group holding `obj` (NeXus: a field's depends_on names a sibling)."""
    dep = text(raw)
    if dep is None or dep in ("", "."):
        return None
    base = obj.parent.name if isinstance(obj, h5py.Dataset) else obj.name
    return posixpath.normpath(dep if dep.startswith("/") else posixpath.join(base, dep))


def read_node(f: h5py.File, path: str, warnings: list[str]) -> Node:
    obj = f.get(path)
    if not isinstance(obj, h5py.Dataset):
        raise HeaderError(f"depends_on names {path}, which is not a dataset in this file")
    kind = (text(obj.attrs.get("transformation_type")) or "").lower()
    if kind not in (ROTATION, TRANSLATION):
        raise HeaderError(f"{path}: transformation_type {kind or 'missing'!r}, not rotation or translation")
    table, canonical = (ANGLE_DEG, "deg") if kind == ROTATION else (LENGTH_MM, "mm")
    unit = units_of(obj)
    if unit is None:
        warnings.append(f"{path}: no units attribute, {canonical} assumed")
    k = factor(unit, table, path, default=1.0)
    values = _numbers(obj, path) * k
    start = float(values[0])
    increment = 0.0
    inc_set, end = f.get(path + "_increment_set"), f.get(path + "_end")
    if isinstance(inc_set, h5py.Dataset):
        increment = float(_numbers(inc_set, inc_set.name)[0]) * factor(
            units_of(inc_set), table, inc_set.name, default=k
        )
    elif isinstance(end, h5py.Dataset):
        increment = (
            float(_numbers(end, end.name)[0]) * factor(units_of(end), table, end.name, default=k) - start
        )
    elif values.size > 1:
        increment = float(values[1] - values[0])
    changes = bool(values.size > 1 and np.ptp(values) > 1e-9) or abs(increment) > 1e-12
    offset = (0.0, 0.0, 0.0)
    if "offset" in obj.attrs:
        raw = _vector(obj.attrs["offset"], f"{path} offset")
        off_unit = units_of(obj, "offset_units")
        if off_unit is None and kind == TRANSLATION:
            off_k = k  # NXtransformations: without offset_units the offset is in the field's units
        else:
            if off_unit is None and any(raw):
                warnings.append(f"{path}: offset without offset_units, mm assumed")
            off_k = factor(off_unit, LENGTH_MM, f"{path} offset_units", default=1.0)
        offset = (raw[0] * off_k, raw[1] * off_k, raw[2] * off_k)
    return Node(
        path,
        kind,
        _vector(obj.attrs.get("vector"), f"{path} vector"),
        offset,
        dependency(obj, obj.attrs.get("depends_on")),
        start,
        increment,
        int(values.size),
        changes,
    )


def follow(
    f: h5py.File, head: str, nodes: dict[str, tuple[Node, str]], equipment: str, warnings: list[str]
) -> None:
    """Read every transformation from `head` to the laboratory into `nodes` (path -> node, equipment)."""
    seen: list[str] = []
    path: str | None = head
    while path is not None:
        if path in seen or len(seen) > MAX_CHAIN:
            loop = " -> ".join(seen[seen.index(path) :] + [path]) if path in seen else head
            raise HeaderError(f"depends_on cycle: {loop}")
        seen.append(path)
        if path not in nodes:
            nodes[path] = (read_node(f, path, warnings), equipment)
        path = nodes[path][0].depends_on


def _names(paths: list[str]) -> dict[str, str]:
    """Axis names: the dataset's name, or its whole path where two datasets share a name."""
    base = [posixpath.basename(p) for p in paths]
    return {p: (b if base.count(b) == 1 else p.lstrip("/")) for p, b in zip(paths, base, strict=True)}


def _sample_heads(f: h5py.File) -> list[str]:
    """/entry/sample/depends_on, else the transformations nothing depends on (older DLS files)."""
    sample = f.get("entry/sample")
    if not isinstance(sample, h5py.Group):
        return []
    if isinstance(sample.get("depends_on"), h5py.Dataset):
        head = dependency(sample, sample["depends_on"][()])
        return [head] if head else []
    group = sample.get("transformations")
    if not isinstance(group, h5py.Group):
        return []
    axes = {
        group[k].name: group[k]
        for k in group
        if isinstance(group.get(k), h5py.Dataset) and "transformation_type" in group[k].attrs
    }
    used = {dependency(d, d.attrs.get("depends_on")) for d in axes.values()}
    return sorted(p for p in axes if p not in used)


def find_modules(detector: h5py.Group | None) -> list[h5py.Group]:
    """The detector's NXdetector_module groups, by name (a legacy master has ~40 groups and datasets
    under its detector: only groups are opened)."""
    if detector is None:
        return []
    groups = [detector[k] for k in sorted(detector) if detector.get(k, getclass=True) is h5py.Group]
    return [
        g
        for g in groups
        if text(g.attrs.get("NX_class")) == "NXdetector_module" or "fast_pixel_direction" in g
    ]


@dataclass(frozen=True, slots=True)
class Geometry:
    """The file's axes (None when nothing places the detector) and its goniometer axes as read, by
    axis name, for telling a rotation sweep from a grid scan and counting images."""

    axes: AxisSet | None
    goniometer: dict[str, Node]


def read_axes(
    f: h5py.File,
    detector: h5py.Group | None,
    module: h5py.Group | None,
    legacy: dict[str, Any],
    warnings: list[str],
) -> Geometry:
    """The file's geometry; the AxisSet is None when neither chains nor legacy fields place the detector.

    `legacy` holds flat values already read (mm, degrees, pixels) for files without chains:
    pixel sizes, beam centre, distance, two_theta and the legacy goniometer axis.
    """
    nodes: dict[str, tuple[Node, str]] = {}
    for head in _sample_heads(f):
        follow(f, head, nodes, "goniometer", warnings)
    if not nodes and legacy.get("scan_axis"):
        name, start, inc = legacy["scan_axis"]
        vector = LEGACY_ROTATION_BY_SERIAL.get(legacy.get("serial") or "", LEGACY_ROTATION)
        nodes["/entry/sample/goniometer/" + name] = (
            Node(
                "/entry/sample/goniometer/" + name,
                ROTATION,
                vector,
                (0.0, 0.0, 0.0),
                None,
                start,
                inc,
                1,
                inc != 0.0,
            ),
            "goniometer",
        )
    if detector is not None and isinstance(detector.get("depends_on"), h5py.Dataset):
        detector_head = dependency(detector, detector["depends_on"][()])
        if detector_head:
            follow(f, detector_head, nodes, "detector", warnings)
    if (
        module is not None
        and isinstance(module.get("fast_pixel_direction"), h5py.Dataset)
        and isinstance(module.get("slow_pixel_direction"), h5py.Dataset)
    ):
        fast_path, slow_path = module["fast_pixel_direction"].name, module["slow_pixel_direction"].name
        for p in (fast_path, slow_path):
            follow(f, p, nodes, "detector", warnings)
        # The pixel directions' value is the pixel pitch, not a position: pixel 0 sits at 0 along them.
        fast_step, slow_step = nodes[fast_path][0].start, nodes[slow_path][0].start
        for p in (fast_path, slow_path):
            nodes[p] = (replace(nodes[p][0], start=0.0, increment=0.0, changes=False), "detector")
    else:
        fast_path, slow_path, fast_step, slow_step = _legacy_detector(detector, legacy, nodes)
    names = _names(list(nodes))
    goniometer = {names[p]: n for p, (n, eq) in nodes.items() if eq == "goniometer"}
    if fast_path is None:
        return Geometry(None, goniometer)
    axes = tuple(
        Axis(
            name=names[p],
            kind=n.kind,
            equipment=eq,
            vector=n.vector,
            offset=n.offset,
            depends_on=names[n.depends_on] if n.depends_on else None,
            start=n.start,
            increment=n.increment,
        )
        for p, (n, eq) in nodes.items()
    )
    beam = None
    raw_beam = f.get("entry/instrument/beam/incident_beam_direction")
    if isinstance(raw_beam, h5py.Dataset):
        beam = _vector(raw_beam[()], raw_beam.name)
    return Geometry(
        AxisSet(
            frame=MCSTAS,
            axes=axes,
            fast=names[fast_path],
            slow=names[slow_path],
            fast_step=fast_step,
            slow_step=slow_step,
            beam=beam,
        ),
        goniometer,
    )


def _legacy_detector(
    detector: h5py.Group | None, legacy: dict[str, Any], nodes: dict[str, tuple[Node, str]]
) -> tuple[Any, Any, float, float]:
    """Detector axes for a master without a module: orientation from NXgeometry when present, pixel 0
    at (beam centre x, y in mm, distance) as dxtbx places such files (it negates the z of NXgeometry's
    translation, which DECTRIS firmware 1.6 writes as -distance)."""
    px, py = legacy.get("pixel_size_x"), legacy.get("pixel_size_y") or legacy.get("pixel_size_x")
    bx, by, distance = legacy.get("beam_x"), legacy.get("beam_y"), legacy.get("distance")
    if px is None or py is None or bx is None or by is None or distance is None:
        return None, None, 0.0, 0.0
    fast, slow = LEGACY_FAST, LEGACY_SLOW
    orient = detector.get("geometry/orientation/value") if detector is not None else None
    if isinstance(orient, h5py.Dataset) and orient.size == 6:
        v = [float(c) for c in np.asarray(orient[()], dtype=float).ravel()]
        fast, slow = (v[0], v[1], -v[2] + 0.0), (v[3], v[4], -v[5] + 0.0)
    parent = None
    if legacy.get("two_theta"):
        parent = "/entry/instrument/detector/goniometer/two_theta"
        nodes[parent] = (
            Node(
                parent, ROTATION, LEGACY_ROTATION, (0.0, 0.0, 0.0), None, legacy["two_theta"], 0.0, 1, False
            ),
            "detector",
        )
    det_z = "/entry/instrument/detector/detector_distance"
    nodes[det_z] = (
        Node(det_z, TRANSLATION, (0.0, 0.0, 1.0), (0.0, 0.0, 0.0), parent, distance, 0.0, 1, False),
        "detector",
    )
    a, b = bx * px, by * py
    corner = (-(a * fast[0] + b * slow[0]), -(a * fast[1] + b * slow[1]), -(a * fast[2] + b * slow[2]))
    fast_path = "/entry/instrument/detector/fast_pixel_direction"
    slow_path = "/entry/instrument/detector/slow_pixel_direction"
    nodes[fast_path] = (Node(fast_path, TRANSLATION, fast, corner, det_z, 0.0, 0.0, 1, False), "detector")
    nodes[slow_path] = (
        Node(slow_path, TRANSLATION, slow, (0.0, 0.0, 0.0), det_z, 0.0, 0.0, 1, False),
        "detector",
    )
    return fast_path, slow_path, float(px), float(py)
