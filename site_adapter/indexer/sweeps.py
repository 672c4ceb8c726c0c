"""Group indexed image files into sweeps: same directory and template, consistent geometry, angles
that follow from the image number. Pure: no file system, no database.

A sweep keeps its gaps (listed as missing numbers) as long as the start angles of the images on both
sides agree with one scan; a change of wavelength, distance, beam centre, axis or increment, or an
angle that does not follow, starts a new sweep. Two files with one number (x_0001.cbf beside
x_0001.cbf.gz) are duplicates: the first is kept, the other listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<suffix>\.[A-Za-z0-9]+)(?P<comp>\.(?:gz|bz2))?$")
ANGLE_TOLERANCE = 0.002  # degrees: headers print 4 decimals; angles are accumulated in floating point
GEOMETRY_KEYS = (
    "wavelength",
    "detector_distance",
    "beam_x",
    "beam_y",
    "angle_increment",
    "oscillation_axis",
    "detector_2theta",
    "pixel_size_x",
    "dimension_x",
    "dimension_y",
)
# Every header value the grouping reads (top-level keys, then keys of `extra`): the store reads back only
# these, not whole headers (issue 17: decoding stored headers cost as much as parsing them).
GROUPING_KEYS = ("format", "start_angle") + GEOMETRY_KEYS
GROUPING_EXTRA_KEYS = ("scan_kind", "n_images", "data_files")


def split_template(name: str) -> tuple[str, int] | None:
    """('l-cyst_01_#####.cbf', 1) for 'l-cyst_01_00001.cbf'; a .gz/.bz2 suffix is left out of the
    template, since the data collection's file_template names the uncompressed file."""
    m = _NUMBERED.match(name)
    if (
        not m or len(m.group("number")) > 9
    ):  # XFEL time stamps (hit-20181213155134902.cbf) are not image numbers
        return None
    digits = m.group("number")
    return f"{m.group('prefix')}{'#' * len(digits)}{m.group('suffix')}", int(digits)


@dataclass(frozen=True, slots=True)
class IndexedFile:
    """What the grouping needs of one indexed file."""

    path: str
    directory: str
    name: str
    size: int
    header: dict[str, Any]  # CbfHeader.to_dict(), or just its GROUPING_KEYS and GROUPING_EXTRA_KEYS
    verified: bool | None = None  # all Content-MD5 matched / one did not / not checked


@dataclass(slots=True)
class Sweep:
    directory: str
    template: str
    format: str
    kind: str = "rotation"
    numbers: list[int] = field(default_factory=list)
    files: list[IndexedFile] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.numbers[0]

    @property
    def last(self) -> int:
        return self.numbers[-1]

    @property
    def count(self) -> int:
        return len(self.numbers)

    @property
    def missing(self) -> list[int]:
        present = set(self.numbers)
        return [n for n in range(self.first, self.last + 1) if n not in present]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def verified(self) -> bool | None:
        states = {f.verified for f in self.files}
        if False in states:
            return False
        return True if states == {True} else None


def _geometry(h: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(round(h[k], 4) if isinstance(h.get(k), float) else h.get(k) for k in GEOMETRY_KEYS)


def _follows(sweep: Sweep, number: int, header: dict[str, Any]) -> bool:
    first = sweep.files[0].header
    start, inc, angle = first.get("start_angle"), first.get("angle_increment"), header.get("start_angle")
    if start is None or angle is None:
        return True
    expected = start + (number - sweep.first) * (inc or 0.0)
    return bool(abs(angle - expected) <= ANGLE_TOLERANCE + abs(inc or 0.0) * 1e-3)


def _kind(sweep: Sweep) -> str:
    h = sweep.files[0].header
    if h.get("format") == "NXmx" and h.get("extra", {}).get("scan_kind"):
        # The master's scan axes decide: a changing rotation, changing translations, or nothing moving.
        return str(h["extra"]["scan_kind"])
    inc = h.get("angle_increment") or 0.0
    n_images = int(h.get("extra", {}).get("n_images") or 0) if h.get("format") == "NXmx" else 0
    if inc:
        return "rotation"
    if sweep.count > 1 or n_images > 1:
        return "grid"  # stills at one angle in one run: a raster/grid scan (DLS xraycentring)
    return "still"


def group_sweeps(files: Iterable[IndexedFile]) -> list[Sweep]:
    """Sweeps in (directory, template, first) order."""
    by_template: dict[tuple[str, str], list[tuple[int, IndexedFile]]] = {}
    singles: list[Sweep] = []
    for f in files:
        split = split_template(f.name)
        if f.header.get("format") == "NXmx" or split is None:
            singles.append(_single(f))
            continue
        template, number = split
        by_template.setdefault((f.directory, template), []).append((number, f))
    sweeps: list[Sweep] = []
    for (directory, template), members in by_template.items():
        members.sort(key=lambda m: (m[0], m[1].name))
        current: Sweep | None = None
        current_geometry: tuple[Any, ...] = ()  # of the current sweep's first file, computed once
        for number, f in members:
            if current is not None and current.numbers[-1] == number:
                current.duplicates.append(f.path)
                continue
            geometry = _geometry(f.header)
            if current is None or current_geometry != geometry or not _follows(current, number, f.header):
                current = Sweep(directory, template, f.header.get("format") or "miniCBF")
                current_geometry = geometry
                sweeps.append(current)
            current.numbers.append(number)
            current.files.append(f)
    sweeps.extend(_one_per_data(singles))
    for s in sweeps:
        s.kind = _kind(s)
    sweeps.sort(key=lambda s: (s.directory, s.template, s.first))
    return sweeps


def _one_per_data(singles: list[Sweep]) -> list[Sweep]:
    """Two NXmx files over the same data files (a facility's x.nxs beside the detector's x_master.h5)
    are one sweep: the .nxs (written to the NXmx standard, with the full geometry) is kept, the other
    listed in its duplicates."""
    kept: list[Sweep] = []
    by_data: dict[tuple[str, str], Sweep] = {}
    for s in sorted(singles, key=lambda s: (not s.template.lower().endswith(".nxs"), s.template)):
        data = str(s.files[0].header.get("extra", {}).get("data_files") or "") if s.format == "NXmx" else ""
        key = (s.directory, data)
        if data and key in by_data:
            by_data[key].duplicates.append(s.files[0].path)
            continue
        if data:
            by_data[key] = s
        kept.append(s)
    return kept


def _single(f: IndexedFile) -> Sweep:
    """An NXmx master (all its images in one file set: one sweep, images 1..n_images) or a file name
    without a number."""
    try:
        n_images = max(1, int(f.header.get("extra", {}).get("n_images") or 1))
    except (TypeError, ValueError):
        n_images = 1
    s = Sweep(f.directory, f.name, f.header.get("format") or "miniCBF")
    s.files.append(f)
    s.numbers.extend(range(1, n_images + 1))
    return s
