"""Demo data collections whose images are real: the DIALS test-data sweeps in the fixtures folder.

Reads the folder listing and each sweep's first header (to record what the detector recorded) and
builds native-store rows whose image directory, template, first image and count match the files, so
`mxhub index` links them. Writes nothing itself: the native loader upserts the rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from site_adapter.indexer.cbf_header import CbfHeader, HeaderError, read_header
from site_adapter.indexer.sweeps import split_template

Row: TypeAlias = tuple[Any, ...]  # one native-store row, in loader.COLUMNS order

# Local ids of these rows: below the ESRF demo facility's id_base (2,000,000) and above what the other
# demo facilities reach, so they never meet a generated row.
FIXTURE_BASE = 1_900_000


@dataclass(frozen=True)
class Experiment:
    """What the headers do not say about a fixture folder, from the paths they do record."""

    folder: str
    proposal: str
    visit_number: int
    beamline: str | None
    sample: str
    experiment_type: str
    protein: tuple[str, str, str] | None  # (acronym, name, UniProt accession)


EXPERIMENTS = (
    # Image_path /ramdisk/2016/mt11145-4/l-cyst/ and CBF_template_file /dls_sw/i19-1/... in every header:
    # Diamond I19-1, visit mt11145-4; L-cysteine is a small molecule, so no protein.
    Experiment("l_cysteine", "mt11145", 4, "i19-1", "l-cyst", "OSC", None),
    # Image_path /ramdisk/2019/cm23007-4/xraycentring/queue_test/thaumatin/: a grid scan (Angle_increment 0)
    # for X-ray centring in visit cm23007-4; the header does not name the beamline.
    Experiment("thaumatin_grid", "cm23007", 4, None, "thaumatin", "Mesh", ("THAU", "Thaumatin I", "P02883")),
)


@dataclass(frozen=True)
class FixtureSweep:
    experiment: Experiment
    directory: str
    template: str  # without .gz/.bz2, as ISPyB records it (the indexer strips it too)
    first: int
    count: int
    header: CbfHeader  # the first image's


def find_sweeps(images_root: Path | None) -> list[FixtureSweep]:
    """The fixture sweeps present under `images_root` (the fixtures' images/ folder); [] when absent."""
    out: list[FixtureSweep] = []
    if images_root is None:
        return out
    for exp in EXPERIMENTS:
        folder = Path(os.path.abspath(images_root / exp.folder))
        if not folder.is_dir():
            continue
        groups: dict[str, list[tuple[int, Path]]] = {}
        for path in sorted(folder.iterdir()):
            split = split_template(path.name)
            if split and path.is_file():
                groups.setdefault(split[0], []).append((split[1], path))
        for template, members in sorted(groups.items()):
            members.sort()
            try:
                header = read_header(str(members[0][1]))
            except (HeaderError, OSError):
                continue  # a damaged fixture costs its sweep, not the demo
            out.append(FixtureSweep(exp, str(folder), template, members[0][0], len(members), header))
    return out


def rows(sweeps: list[FixtureSweep]) -> dict[str, list[Row]]:
    """Native-store rows (loader.COLUMNS order) for the sweeps: one proposal, session, sample and
    detector per experiment, one data collection (and group) per sweep."""
    out: dict[str, list[Row]] = {
        t: []
        for t in (
            "proposal",
            "session",
            "protein",
            "detector",
            "sample",
            "data_collection_group",
            "data_collection",
        )
    }
    by_exp: dict[str, list[FixtureSweep]] = {}
    for s in sweeps:
        by_exp.setdefault(s.experiment.folder, []).append(s)
    for k, exp in enumerate(EXPERIMENTS):
        group = by_exp.get(exp.folder)
        if not group:
            continue
        rid = FIXTURE_BASE + k  # proposal, session, protein, detector and sample of this experiment
        h0 = group[0].header
        times = [(_start(s), _end(s)) for s in group]
        out["proposal"].append((rid, exp.proposal, f"Real images from the DIALS test data ({exp.folder})"))
        out["session"].append(
            (
                rid,
                rid,
                exp.visit_number,
                f"{exp.proposal}-{exp.visit_number}",
                exp.beamline,
                min(t[0] for t in times),
                max(t[1] for t in times),
            )
        )
        protein_id = None
        if exp.protein:
            protein_id = rid
            out["protein"].append((rid, rid, exp.protein[0], exp.protein[1], [exp.protein[2]], None))
        out["detector"].append(
            (
                rid,
                "DECTRIS",
                h0.detector,
                h0.serial_number,
                h0.pixel_size_x,
                h0.pixel_size_y,
                h0.dimension_x,
                h0.dimension_y,
                h0.sensor_material,
                h0.sensor_thickness,
            )
        )
        out["sample"].append((rid, None, protein_id, rid, exp.sample, None, None, None, json.dumps([])))
        for n, s in enumerate(group):
            dc_id = FIXTURE_BASE + 100 + 10 * k + n
            start, end = _start(s), _end(s)
            out["data_collection_group"].append((dc_id, rid, rid, exp.experiment_type, start, end))
            out["data_collection"].append(_collection(dc_id, rid, protein_id, exp, s, start, end))
    return out


def _start(s: FixtureSweep) -> dt.datetime:
    t = s.header.timestamp or dt.datetime(2000, 1, 1)
    return t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC)  # the store keeps instants


def _end(s: FixtureSweep) -> dt.datetime:
    period = s.header.exposure_period or s.header.exposure_time or 0.0
    return _start(s) + dt.timedelta(seconds=period * s.count)


def _collection(
    dc_id: int,
    rid: int,
    protein_id: int | None,
    exp: Experiment,
    s: FixtureSweep,
    start: dt.datetime,
    end: dt.datetime,
) -> Row:
    h = s.header
    px, py = h.pixel_size_x or 0.0, h.pixel_size_y or h.pixel_size_x or 0.0
    # Beam_xy is in pixels (PILATUS header spec); the store keeps millimetres.
    beam_x = round(h.beam_x * px, 3) if h.beam_x is not None else None
    beam_y = round(h.beam_y * py, 3) if h.beam_y is not None else None
    resolution = None
    if h.wavelength and h.detector_distance and h.dimension_x and h.dimension_y and px:
        edge = min(h.dimension_x, h.dimension_y) * px / 2  # mm from the centre to the nearest edge
        resolution = round(h.wavelength / (2 * math.sin(0.5 * math.atan(edge / h.detector_distance))), 2)
    inc = h.angle_increment or 0.0
    axis_start = h.start_angle
    return (
        dc_id,
        dc_id,
        rid,
        rid,
        rid,
        protein_id,
        rid,
        exp.beamline,
        exp.experiment_type,
        start,
        end,
        "DataCollection Successful",
        s.directory,
        s.template,
        s.first,
        s.count,
        h.wavelength,
        h.detector_distance,
        beam_x,
        beam_y,
        axis_start,
        None if axis_start is None else axis_start + inc * s.count,
        inc,
        0.0,
        h.oscillation_axis,
        h.exposure_time,
        h.transmission,
        h.flux or None,
        None,
        None,
        resolution,
        h.detector_2theta,
        h.kappa,
        h.phi,
        h.chi,
        h.omega,
        f"real images: {exp.folder} fixtures (DIALS test data)",
    )
