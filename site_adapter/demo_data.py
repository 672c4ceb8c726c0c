"""Seeded, realistic demo facilities: real proteins, beamlines, detectors and plausible statistics.

Pure generation (rows as tuples in the native store's column order); loading is the native
loader's job. The same seed and site always give the same rows, so the LIMS demo can share crystal
UUIDs, pin barcodes and plate wells with the sites.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeAlias

Row: TypeAlias = tuple[Any, ...]  # one native-store row, in loader.COLUMNS order

LIMS_NAMESPACE = uuid.UUID("6f1c7a52-3c1e-4c8e-9a55-1b7d2f0e8c11")  # crystal UUIDs: uuid5(ns, "site:crystal")
HEWL_SEQUENCE = (  # hen egg-white lysozyme, mature chain (UniProt P00698, residues 19-147)
    "KVFGRCELAAAMKRHGLDNYRGYSLGNWVCAAKFESNFNTQATNRNTDGSTDYGILQINSRWWCNDGRTPGSRNLCNIPCSALLSSDITASVNCAKKIVSDGNGMNAWVAWRNRCKGTDVQAWIRGCRL"
)


@dataclass(frozen=True)
class ProteinSpec:
    acronym: str
    name: str
    uniprot: str
    space_group: str
    cell: tuple[float, float, float, float, float, float]
    typical_resolution: float  # Å, best results cluster around this
    sequence: str | None = None


# Real proteins of MX practice, with their UniProt accessions and the usual crystal form.
PROTEINS: tuple[ProteinSpec, ...] = (
    ProteinSpec(
        "HEWL",
        "Lysozyme C (hen egg white)",
        "P00698",
        "P 43 21 2",
        (79.1, 79.1, 37.9, 90, 90, 90),
        1.35,
        HEWL_SEQUENCE,
    ),
    ProteinSpec("THAU", "Thaumatin I", "P02883", "P 41 21 2", (57.8, 57.8, 150.2, 90, 90, 90), 1.45),
    ProteinSpec("TLN", "Thermolysin", "P00800", "P 61 2 2", (92.8, 92.8, 128.5, 90, 90, 120), 1.55),
    ProteinSpec("INS", "Insulin (bovine)", "P01317", "I 21 3", (78.9, 78.9, 78.9, 90, 90, 90), 1.6),
    ProteinSpec("PROK", "Proteinase K", "P06873", "P 43 21 2", (67.5, 67.5, 106.9, 90, 90, 90), 1.25),
    ProteinSpec(
        "GI",
        "Xylose isomerase (glucose isomerase)",
        "P24300",
        "I 2 2 2",
        (93.9, 99.6, 102.9, 90, 90, 90),
        1.4,
    ),
    ProteinSpec(
        "TRY", "Cationic trypsin (bovine)", "P00760", "P 21 21 21", (54.9, 58.6, 67.5, 90, 90, 90), 1.3
    ),
    ProteinSpec("FAE", "Endothiapepsin", "P11838", "P 1 21 1", (45.3, 73.0, 52.9, 90, 109.4, 90), 1.5),
)


@dataclass(frozen=True)
class DetectorSpec:
    manufacturer: str
    model: str
    serial: str
    pixel_size: float  # mm
    nx: int
    ny: int
    sensor_material: str
    sensor_thickness: float  # mm
    file_kind: str  # "cbf" or "h5"


@dataclass(frozen=True)
class BeamlineSpec:
    name: str
    detector: DetectorSpec
    wavelength: float  # Å, the usual working wavelength
    beam_size: tuple[float, float]  # µm
    flux: float  # photons/s at 100 % transmission


P3_6M = DetectorSpec("DECTRIS", "PILATUS3 6M", "60-0128", 0.172, 2463, 2527, "Si", 0.32, "cbf")
P3_2M = DetectorSpec("DECTRIS", "PILATUS3 2M", "24-0123", 0.172, 1475, 1679, "Si", 0.45, "cbf")
E2_9M = DetectorSpec("DECTRIS", "EIGER2 X 9M", "E-32-0107", 0.075, 3108, 3262, "Si", 0.45, "h5")
E2_16M = DetectorSpec("DECTRIS", "EIGER2 XE 16M", "E-32-0112", 0.075, 4148, 4362, "Si", 0.45, "h5")
E_16M = DetectorSpec("DECTRIS", "EIGER X 16M", "E-32-0101", 0.075, 4150, 4371, "Si", 0.45, "h5")


@dataclass(frozen=True)
class FacilitySpec:
    name: str
    path_style: str  # "esrf" | "dls" | "maxiv"
    proposal_prefixes: tuple[str, ...]
    beamlines: tuple[BeamlineSpec, ...]
    id_base: int  # local ids start here, so sites do not share id ranges (as real ISPyBs do not)


FACILITIES: dict[str, FacilitySpec] = {
    "esrf": FacilitySpec(
        "ESRF",
        "esrf",
        ("mx", "ih"),
        (
            BeamlineSpec("id23-1", E2_9M, 0.8856, (50, 45), 1.6e12),
            BeamlineSpec("id29", P3_6M, 0.97625, (30, 30), 3.7e12),
            BeamlineSpec("id30a-1", P3_2M, 0.9655, (100, 100), 6.0e11),
            BeamlineSpec("id30b", E2_9M, 0.9184, (20, 20), 4.0e12),
        ),
        2_000_000,
    ),
    "diamond": FacilitySpec(
        "Diamond",
        "dls",
        ("mx", "cm", "nt"),
        (
            BeamlineSpec("i03", E2_16M, 0.9763, (80, 20), 2.5e12),
            BeamlineSpec("i04", E2_16M, 0.9795, (50, 30), 1.8e12),
            BeamlineSpec("i24", P3_6M, 0.9686, (10, 10), 1.0e12),
        ),
        6_000_000,
    ),
    "maxiv": FacilitySpec(
        "MAX IV", "maxiv", ("mx",), (BeamlineSpec("biomax", E_16M, 0.9763, (20, 5), 2.0e13),), 100_000
    ),
}

CONTAINER_PREFIX = {"esrf": "ESRF-PK", "diamond": "DLS-PK", "maxiv": "MAXIV-PK"}
WELL_ROWS = "ABCDEFGH"


def crystal_uuid(site: str, crystal_id: int) -> str:
    return str(uuid.uuid5(LIMS_NAMESPACE, f"{site}:{crystal_id}"))


def pin_barcode(site: str, sample_id: int) -> str:
    return f"{site[:2].upper()}PIN{sample_id:08d}"


def plate_well_drop(site: str, proposal_id: int, crystal_id: int) -> tuple[str, str, int]:
    """The crystallisation plate, well and drop a demo crystal was harvested from."""
    plate = f"{site[:2].upper()}PL{proposal_id:05d}{(crystal_id // 96) % 100:02d}"
    well = f"{WELL_ROWS[(crystal_id // 12) % 8]}{crystal_id % 12 + 1}"
    return plate, well, 1 + crystal_id % 3


@dataclass
class Tables:
    """Generated rows, in native-store column order (see loader.COLUMNS)."""

    proposal: list[Row]
    person: list[Row]
    proposal_member: list[Row]
    session: list[Row]
    session_member: list[Row]
    protein: list[Row]
    detector: list[Row]


def _shell(rng: random.Random, res_low: float, res_high: float, kind: str, quality: float) -> str:
    """Plausible merging statistics for one shell; `quality` 0 (poor) .. 1 (excellent)."""
    if kind == "outer":
        completeness = min(100.0, rng.uniform(85, 100))
        cc_half = max(0.05, min(0.95, rng.gauss(0.55, 0.12)))
        isig = max(0.4, rng.gauss(1.6, 0.4))
        r_merge = rng.uniform(0.6, 2.4)
    elif kind == "inner":
        completeness = min(100.0, rng.uniform(97, 100))
        cc_half = min(1.0, rng.uniform(0.995, 0.9999))
        isig = rng.uniform(25, 60)
        r_merge = rng.uniform(0.02, 0.05)
    else:
        completeness = min(100.0, rng.uniform(95, 100))
        cc_half = min(1.0, rng.uniform(0.990, 0.9995))
        isig = rng.uniform(6, 22) * (0.6 + 0.4 * quality)
        r_merge = rng.uniform(0.04, 0.15)
    multiplicity = rng.uniform(3.5, 13.5)
    r_meas = r_merge * math.sqrt(multiplicity / (multiplicity - 1))
    r_pim = r_merge / math.sqrt(multiplicity - 1)
    return json.dumps(
        {
            "resolution_low": round(res_low, 2),
            "resolution_high": round(res_high, 2),
            "completeness": round(completeness, 1),
            "multiplicity": round(multiplicity, 1),
            "mean_i_over_sig_i": round(isig, 1),
            "cc_half": round(cc_half, 4),
            "r_merge": round(r_merge, 3),
            "r_meas": round(r_meas, 3),
            "r_pim": round(r_pim, 3),
        }
    )


class DemoFacility:
    """Generates one site's rows. Sizes follow `n_collections`; everything else is derived."""

    def __init__(self, site: str, n_collections: int, *, seed: int = 1, facility: str | None = None) -> None:
        self.site = site
        self.spec = FACILITIES.get(facility or site, FACILITIES["esrf"])
        self.n = n_collections
        self.seed = seed
        self.base = self.spec.id_base
        self.n_proposals = max(3, n_collections // 2500 + 2)
        self.n_sessions = max(6, n_collections // 60)

    # --- small reference tables ---------------------------------------------------------------

    def reference(self) -> Tables:
        rng = random.Random(f"{self.seed}:{self.site}:ref")
        proposals, persons, pm, proteins = [], [], [], []
        for i in range(self.n_proposals):
            pid = self.base + i
            prefix = self.spec.proposal_prefixes[i % len(self.spec.proposal_prefixes)]
            code = f"{prefix}{1000 + 37 * i + rng.randrange(30)}"
            proposals.append(
                (
                    pid,
                    code,
                    f"Structural studies of {PROTEINS[i % len(PROTEINS)].name.split(' (')[0].lower()}",
                )
            )
            for k in range(3):
                person_id = self.base + i * 3 + k
                persons.append((person_id, f"{code}_user{k + 1}", f"User {k + 1} of {code}"))
                pm.append((pid, person_id))
            # each proposal works on three of the real proteins
            for k in range(3):
                spec = PROTEINS[(i + k * 3) % len(PROTEINS)]
                seq_hash = hashlib.sha256(spec.sequence.encode()).hexdigest() if spec.sequence else None
                proteins.append(
                    (self.base + i * 3 + k, pid, spec.acronym, spec.name, [spec.uniprot], seq_hash)
                )
        sessions, sm = [], []
        start0 = dt.datetime(2019, 1, 14, 8, 0, tzinfo=dt.UTC)  # instants (docs/time.md)
        span_hours = 24 * 365 * 6
        for s in range(self.n_sessions):
            sid = self.base + s
            pidx = s % self.n_proposals
            bl = self.spec.beamlines[s % len(self.spec.beamlines)]
            start = start0 + dt.timedelta(hours=int(span_hours * s / self.n_sessions) + rng.randrange(0, 8))
            visit_number = s // self.n_proposals + 1
            sessions.append(
                (
                    sid,
                    self.base + pidx,
                    visit_number,
                    f"{proposals[pidx][1]}-{visit_number}",
                    bl.name,
                    start,
                    start + dt.timedelta(hours=8),
                )
            )
            sm.append((sid, self.base + pidx * 3, "Team Leader"))
        detectors = []
        for k, bl in enumerate(self.spec.beamlines):
            det = bl.detector
            detectors.append(
                (
                    self.base + k,
                    det.manufacturer,
                    det.model,
                    det.serial,
                    det.pixel_size,
                    det.pixel_size,
                    det.nx,
                    det.ny,
                    det.sensor_material,
                    det.sensor_thickness,
                )
            )
        return Tables(proposals, persons, pm, sessions, sm, proteins, detectors)

    # --- bulk tables, streamed ------------------------------------------------------------------

    def rows(self, ref: Tables) -> Iterator[tuple[str, Row]]:
        """Yield (table, row) for crystals, samples, groups, collections and processing, in FK order."""
        rng = random.Random(f"{self.seed}:{self.site}:bulk")
        sessions = ref.session
        beamlines = {bl.name: (k, bl) for k, bl in enumerate(self.spec.beamlines)}
        dc_id = self.base
        sample_no = 0
        pr_id = self.base
        while dc_id - self.base < self.n:
            sample_id = self.base + sample_no
            sess = sessions[sample_no % len(sessions)]
            session_id, proposal_id, _, visit, bl_name, s_start, _ = sess
            pidx = proposal_id - self.base
            protein_row = ref.protein[pidx * 3 + sample_no % 3]
            spec = next(p for p in PROTEINS if p.acronym == protein_row[2])
            det_idx, bl = beamlines[bl_name]
            crystal_id = sample_id
            cell = tuple(
                round(v * rng.uniform(0.995, 1.005), 2) if i < 3 else v for i, v in enumerate(spec.cell)
            )
            yield (
                "crystal",
                (crystal_id, protein_row[0], crystal_uuid(self.site, crystal_id), spec.space_group, *cell),
            )
            name = f"{spec.acronym.lower()}_{sample_no + 1}"
            barcode = pin_barcode(self.site, sample_id)
            plate, well, drop = plate_well_drop(self.site, proposal_id, crystal_id)
            container = (
                f"{CONTAINER_PREFIX.get(self.site, self.site.upper() + '-PK')}{(sample_no // 16) % 10000:04d}"
            )
            external = json.dumps(
                [
                    {"system": "lims", "kind": "crystal-uuid", "value": crystal_uuid(self.site, crystal_id)},
                    {"system": self.site, "kind": "pin-barcode", "value": barcode},
                    {"system": "lims", "kind": "plate-well-drop", "value": f"{plate}/{well}/{drop}"},
                    {"system": "uniprot", "kind": "accession", "value": spec.uniprot},
                ]
            )
            yield (
                "sample",
                (
                    sample_id,
                    crystal_id,
                    protein_row[0],
                    proposal_id,
                    name,
                    barcode,
                    container,
                    sample_no % 16 + 1,
                    external,
                ),
            )
            group_id = sample_id
            t = s_start + dt.timedelta(minutes=5 * (sample_no // len(sessions) % 90) + rng.randrange(4))
            plan = ["Mesh", "OSC"] + (["OSC"] if rng.random() < 0.35 else [])
            if rng.random() < 0.15:
                plan.insert(1, "Characterization")
            yield (
                "data_collection_group",
                (group_id, session_id, sample_id, plan[-1], t, t + dt.timedelta(minutes=4 * len(plan))),
            )
            for run, kind in enumerate(plan, start=1):
                if dc_id - self.base >= self.n:
                    break
                dc_rows = list(
                    self._collection(
                        rng,
                        dc_id,
                        run,
                        kind,
                        t,
                        bl,
                        det_idx,
                        group_id,
                        session_id,
                        sample_id,
                        protein_row[0],
                        proposal_id,
                        visit,
                        name,
                        spec,
                    )
                )
                yield from dc_rows
                yield from grid_rows(self.site, self.seed, dc_rows[0][1])  # issue 16
                if kind == "OSC":
                    for pr in self._processing(rng, pr_id, dc_id, spec, t):
                        pr_id += 1
                        yield "processing_result", pr
                        yield from downstream_rows(self.site, self.seed, pr, dc_rows[0][1])
                dc_id += 1
                t += dt.timedelta(minutes=3)
            sample_no += 1

    def _collection(
        self,
        rng: random.Random,
        dc_id: int,
        run: int,
        kind: str,
        t: dt.datetime,
        bl: BeamlineSpec,
        det_idx: int,
        group_id: int,
        session_id: int,
        sample_id: int,
        protein_id: int,
        proposal_id: int,
        visit: str,
        name: str,
        spec: ProteinSpec,
    ) -> Iterator[tuple[str, Row]]:
        det = bl.detector
        if kind == "Mesh":
            n_images, axis_range, exposure, transmission = rng.choice((60, 120, 200, 400)), 0.0, 0.01, 10.0
        elif kind == "Characterization":
            n_images, axis_range, exposure, transmission = 4, 0.1, 0.02, 5.0
        else:
            n_images = rng.choice((1800, 3600, 3600, 7200))
            axis_range = 360.0 / n_images if n_images >= 3600 else 0.1
            exposure, transmission = rng.choice((0.004, 0.01, 0.02)), round(rng.uniform(2, 50), 1)
        axis_start = 0.0 if kind != "Characterization" else 0.0
        distance = round(rng.uniform(150, 400), 2)
        beam_x = round(det.nx * det.pixel_size / 2 + rng.uniform(-2, 2), 2)
        beam_y = round(det.ny * det.pixel_size / 2 + rng.uniform(-2, 2), 2)
        ext = "cbf" if det.file_kind == "cbf" else "h5"
        template = f"{name}_{run}_####.cbf" if ext == "cbf" else f"{name}_{run}_master.h5"
        directory = self._directory(visit, bl.name, t, name)
        end = t + dt.timedelta(seconds=n_images * exposure + 5)
        edge = min(det.nx, det.ny) * det.pixel_size / 2  # mm from the beam to the nearest edge
        res_edge = bl.wavelength / (2 * math.sin(0.5 * math.atan(edge / distance)))  # Bragg: d = λ / 2 sin θ
        yield (
            "data_collection",
            (
                dc_id,
                group_id,
                session_id,
                sample_id,
                self.base + det_idx,
                protein_id,
                proposal_id,
                bl.name,
                kind,
                t,
                end,
                "DataCollection Successful",
                directory,
                template,
                1,
                n_images,
                bl.wavelength,
                distance,
                beam_x,
                beam_y,
                axis_start,
                axis_start + axis_range * n_images,
                axis_range,
                0.0,
                "Omega",
                exposure,
                transmission,
                bl.flux * transmission / 100,
                bl.beam_size[0],
                bl.beam_size[1],
                round(res_edge, 2),
                0.0,
                0.0,
                0.0,
                0.0,
                axis_start,
                None,
            ),
        )

    def _directory(self, visit: str, beamline: str, t: dt.datetime, name: str) -> str:
        style = self.spec.path_style
        if style == "esrf":
            return f"/data/visitor/{visit.split('-')[0]}/{beamline}/{t:%Y%m%d}/RAW_DATA/{name}/"
        if style == "dls":
            return f"/dls/{beamline}/data/{t:%Y}/{visit}/{name}/"
        return f"/data/visitors/biomax/{visit.split('-')[0]}/{t:%Y%m%d}/raw/{name}/"

    def _processing(
        self, rng: random.Random, first_id: int, dc_id: int, spec: ProteinSpec, t: dt.datetime
    ) -> Iterator[Row]:
        quality = rng.random()
        base_res = spec.typical_resolution * rng.uniform(0.9, 1.6) if quality > 0.1 else rng.uniform(2.5, 4.0)
        programs = ["fast_dp", "xia2 dials", "autoPROC"] + (["xia2 3dii"] if rng.random() < 0.3 else [])
        for k, program in enumerate(programs):
            failed = rng.random() < 0.08
            res = round(base_res * rng.uniform(0.97, 1.05), 2)
            cell = spec.cell
            start = t + dt.timedelta(minutes=2 + 3 * k)
            if failed:
                yield (
                    first_id + k,
                    dc_id,
                    program,
                    "FAILED",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    start,
                    start + dt.timedelta(minutes=1),
                    None,
                    None,
                    None,
                    None,
                )
                continue
            low = round(rng.uniform(38, 60), 2)
            inner_high = round(low / 2.5 + res, 2)
            outer_low = round(res * 1.05, 2)
            yield (
                first_id + k,
                dc_id,
                program,
                "SUCCESS",
                spec.space_group,
                *cell,
                start,
                start + dt.timedelta(minutes=4 + rng.randrange(6)),
                rng.random() < 0.2,
                _shell(rng, low, res, "overall", quality),
                _shell(rng, low, inner_high, "inner", quality),
                _shell(rng, outer_low, res, "outer", quality),
            )


# --- grid scans, per-image quality, X-ray centring, downstream results (issue 16) -----------------
# Rows for migration 006's tables, derived from a collection's or a processing result's row (in
# loader.COLUMNS order) with a generator of their own, so the rows above stay what they were.
_DC_ID, _DC_KIND, _DC_IMAGES, _DC_DISTANCE, _DC_BEAM_X, _DC_BEAM_Y, _DC_RES_EDGE = 0, 8, 15, 17, 18, 19, 30
_PR_ID, _PR_PROGRAM, _PR_STATUS, _PR_SPACE_GROUP, _PR_CELL, _PR_START, _PR_ANOMALOUS, _PR_OVERALL = (
    0,
    2,
    3,
    4,
    5,
    11,
    13,
    14,
)
GRID_COLUMNS = 10  # every demo grid is 10 boxes wide: 60 images make a 10 x 6 raster, 100 a 10 x 10
QUALITY_SHARE = 0.15  # grids with per-image spot finding and a centring result
ROTATION_QUALITY_SHARE = 0.05  # rotations with spot finding on 100 of their images


def grid_position(image_number: int, steps_x: int, snaked: bool) -> tuple[int, int]:
    """(column, row) of an image in a horizontal raster, rows counted from 0, snaked rows reversed."""
    row, col = divmod(image_number - 1, steps_x)
    return (steps_x - 1 - col if snaked and row % 2 else col), row


def grid_rows(site: str, seed: int, dc: Row) -> Iterator[tuple[str, Row]]:
    """A grid scan's raster and, for one grid in QUALITY_SHARE, one image-quality row per image (spots
    peak over the crystal, a 2-D Gaussian) and the X-ray centring result; for one rotation in
    ROTATION_QUALITY_SHARE, spot finding on 100 of its images. The shares keep a 20 000-collection demo
    at a few hundred thousand rows (every image of every grid would be two million)."""
    rng = random.Random(f"{seed}:{site}:grid:{dc[_DC_ID]}")
    n_images = int(dc[_DC_IMAGES])
    if dc[_DC_KIND] != "Mesh":
        if dc[_DC_KIND] == "OSC" and rng.random() < ROTATION_QUALITY_SHARE:
            yield from _rotation_quality(rng, dc)
        return
    steps_x, steps_y = GRID_COLUMNS, max(1, n_images // GRID_COLUMNS)
    step = rng.choice((10.0, 20.0, 20.0, 30.0))  # µm
    yield (
        "grid_scan",
        (dc[_DC_ID], dc[_DC_ID], steps_x, steps_y, step, step, "horizontal", True, 0.83, 0.83)
        + (round(rng.uniform(150, 400), 2), round(rng.uniform(120, 300), 2), 0.0),
    )
    if rng.random() >= QUALITY_SHARE:
        return
    cx, cy = rng.uniform(2, steps_x - 3), rng.uniform(1, max(1.5, steps_y - 2))
    sx, sy = rng.uniform(0.8, 2.2), rng.uniform(0.8, 2.2)
    peak = rng.choice((0, 40, 150, 300, 600)) if rng.random() < 0.1 else rng.uniform(150, 700)
    spots_at: dict[tuple[int, int], int] = {}
    for image in range(1, steps_x * steps_y + 1):
        x, y = grid_position(image, steps_x, True)
        signal = peak * math.exp(-(((x - cx) / sx) ** 2 + ((y - cy) / sy) ** 2) / 2)
        spots = max(0, int(signal + rng.gauss(3, 2)))
        spots_at[(x, y)] = spots
        yield "image_quality", _quality_row(rng, dc, image, spots, peak)
    yield "xray_centring_result", _centring_row(dc, spots_at, cx, cy, sx, sy, peak)


def _quality_row(rng: random.Random, dc: Row, image: int, spots: int, peak: float) -> Row:
    """One image's spot finding; one random draw per image keeps a large demo quick to generate."""
    u = rng.random()
    edge = float(dc[_DC_RES_EDGE] or 1.5)
    strength = min(1.0, spots / max(peak, 1.0))
    resolution = round(edge * (1 + 2.5 * (1 - strength)) * (0.97 + 0.06 * u), 2) if spots > 15 else None
    return (
        dc[_DC_ID],
        image,
        spots,
        int(spots * (0.9 + 0.1 * u)),
        int(spots * (0.75 + 0.2 * u)),
        1 if u < 0.02 else 0,
        resolution,
        resolution,
        None,
        round(spots * (40 + 120 * u), 1),
        None,
    )


def _rotation_quality(rng: random.Random, dc: Row) -> Iterator[tuple[str, Row]]:
    """Spot finding on 100 evenly spaced images of a sweep: spots fall as radiation damage grows."""
    n_images = int(dc[_DC_IMAGES])
    base = rng.uniform(150, 900)
    for k in range(100):
        image = 1 + k * n_images // 100
        decay = 1 - 0.35 * image / n_images
        spots = max(0, int(base * decay * rng.uniform(0.85, 1.15)))
        yield "image_quality", _quality_row(rng, dc, image, spots, base)


def _centring_row(
    dc: Row, spots_at: dict[tuple[int, int], int], cx: float, cy: float, sx: float, sy: float, peak: float
) -> Row:
    """The crystal as X-ray centring reports it: none found (FAILED) when the peak is weak."""
    if peak < 50:
        return (dc[_DC_ID], dc[_DC_ID], "FAILED", "2d") + (None,) * 14
    best = max(spots_at, key=lambda k: (spots_at[k], -k[1], -k[0]))
    steps_x = max(x for x, _ in spots_at) + 1
    steps_y = max(y for _, y in spots_at) + 1
    box = (
        max(0, math.floor(cx - 2 * sx)),
        min(steps_x - 1, math.ceil(cx + 2 * sx)),
        max(0, math.floor(cy - 2 * sy)),
        min(steps_y - 1, math.ceil(cy + 2 * sy)),
    )
    inside = [v for (x, y), v in spots_at.items() if box[0] <= x <= box[1] and box[2] <= y <= box[3]]
    return (
        dc[_DC_ID],
        dc[_DC_ID],
        "SUCCESS",
        "2d",
        round(cx, 2),
        round(cy, 2),
        None,
        best[0],
        best[1],
        None,
        len(inside),
        float(sum(inside)),
        float(box[0]),
        float(box[1]),
        float(box[2]),
        float(box[3]),
        None,
        None,
    )


def downstream_rows(site: str, seed: int, pr: Row, dc: Row) -> Iterator[tuple[str, Row]]:
    """A successful result's integration (image range, refined geometry), a Dimple run for fast_dp
    and xia2 dials results, and SAD phasing (fast_ep) for some anomalous ones."""
    if pr[_PR_STATUS] != "SUCCESS":
        return
    rng = random.Random(f"{seed}:{site}:downstream:{pr[_PR_ID]}")
    n_images = int(dc[_DC_IMAGES])
    cell = [round(v * rng.uniform(0.999, 1.001), 3) if i < 3 else v for i, v in enumerate(pr[5:11])]
    yield (
        "integration",
        (pr[_PR_ID], pr[_PR_ID], dc[_DC_ID], pr[_PR_PROGRAM], 1)
        + (n_images if rng.random() < 0.9 else n_images * 4 // 5,)
        + (round(dc[_DC_DISTANCE] * rng.uniform(0.995, 1.005), 3),)
        + (
            round(dc[_DC_BEAM_X] + rng.uniform(-0.1, 0.1), 3),
            round(dc[_DC_BEAM_Y] + rng.uniform(-0.1, 0.1), 3),
        )
        + tuple(cell)
        + (
            1.0,
            round(rng.uniform(-0.002, 0.002), 5),
            round(rng.uniform(-0.002, 0.002), 5),
            pr[_PR_ANOMALOUS],
        ),
    )
    resolution = json.loads(pr[_PR_OVERALL])["resolution_high"]
    start = pr[_PR_START] + dt.timedelta(minutes=8)
    if pr[_PR_PROGRAM] in ("fast_dp", "xia2 dials"):
        failed = rng.random() < 0.07
        r_end = round(min(0.35, 0.12 + 0.04 * resolution + rng.uniform(-0.02, 0.03)), 4)
        r_free = round(r_end + rng.uniform(0.02, 0.05), 4)
        directory = f"/processed/{site}/{pr[_PR_ID]}/dimple"
        yield (
            "mr_run",
            (pr[_PR_ID], pr[_PR_ID], "dimple", "FAILED" if failed else "SUCCESS")
            + (("Unknown error",) if failed else (f"Blob scores: {rng.randrange(0, 90)}",))
            + ((None,) * 4 if failed else (round(r_end + rng.uniform(0.05, 0.15), 4), r_end))
            + (() if failed else (round(r_free + rng.uniform(0.03, 0.12), 4), r_free))
            + (None, None, None if failed else pr[_PR_SPACE_GROUP])
            + (start, None if failed else start + dt.timedelta(minutes=rng.randrange(1, 4)))
            + ([] if failed else [f"{directory}/dimple.log"],),
        )
    if pr[_PR_ANOMALOUS] and rng.random() < 0.6:
        yield (
            "phasing",
            (pr[_PR_ID], pr[_PR_ID], "fast_ep", "SUCCESS", "SAD", pr[_PR_SPACE_GROUP])
            + (round(rng.uniform(30, 50), 2), round(resolution + rng.uniform(0.2, 0.8), 2))
            + (round(rng.uniform(0.25, 0.7), 3), round(rng.uniform(35, 78), 2), rng.random() < 0.5)
            + (round(rng.uniform(0.35, 0.6), 2), start, start + dt.timedelta(minutes=rng.randrange(3, 12))),
        )


# --- result files and crystal snapshots (issue 16) ------------------------------------------------
# The demo's files really exist: `write_demo_files` writes them under a root the demo makes in a temp
# directory (the site's --file-root), and `demo_file_rows` points the store's rows at them.

DEMO_FILE_COLLECTIONS = 12  # collections (with processing) that get files: enough to browse, cheap to write


def tiny_png(width: int, height: int, seed: int = 0) -> bytes:
    """A valid 8-bit RGB PNG (PNG spec, ISO/IEC 15948): a soft gradient with a dark 'crystal' in the
    middle, as an on-axis camera shows a loop. Written with the standard library (zlib, crc32)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = bytearray()
    cx, cy = width / 2 + (seed % 5) - 2, height / 2
    for y in range(height):
        raw.append(0)  # filter type None
        for x in range(width):
            # distance from the crystal's centre, in units of its half-size: < 1 inside the crystal
            r = ((x - cx) / (width / 6)) ** 2 + ((y - cy) / (height / 5)) ** 2
            grey = 70 if r < 1 else min(235, 150 + (80 * x) // max(width, 1))
            raw += bytes((grey, min(255, grey + 10), min(255, grey + 25)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def _fast_dp_log(program: str, dc_id: int, overall: dict[str, Any] | None) -> str:
    res = overall.get("resolution_high") if overall else None
    lines = [
        f"{program} processing of data collection {dc_id}",
        "Spacegroup and cell from indexing, then integration with XDS",
        "      Low resolution       High resolution     Completeness   Multiplicity   I/sigma  CC(1/2)",
    ]
    if overall:
        lines.append(
            f"      {overall.get('resolution_low', 0):>8}             {res:>8}             "
            f"{overall.get('completeness', 0):>6}         {overall.get('multiplicity', 0):>5}"
            f"        {overall.get('mean_i_over_sig_i', 0):>5}   {overall.get('cc_half', 0):>6}"
        )
    else:
        lines.append("Processing failed: no indexing solution")
    return "\n".join(lines) + "\n"


def demo_file_rows(
    root: str, results: list[tuple[int, int, str | None, str, dict[str, Any] | None]]
) -> tuple[dict[str, list[Row]], dict[str, bytes]]:
    """Rows of result_file, program_message and snapshot for processing results (id, collection id,
    program, status, overall statistics as stored), and the files they name (path -> content)."""
    tables: dict[str, list[Row]] = {"result_file": [], "program_message": [], "snapshot": []}
    files: dict[str, bytes] = {}
    seen: set[int] = set()
    for pr_id, dc_id, program, status, overall in results:
        name = (program or "processing").replace(" ", "_")
        directory = f"{root}/dc{dc_id}/{name}-{pr_id}"
        log = (
            "fast_dp.log"
            if program == "fast_dp"
            else "xia2.html"
            if (program or "").startswith("xia2")
            else f"{name}.log"
        )
        body = _fast_dp_log(program or "processing", dc_id, overall)
        if log.endswith(".html"):
            body = f"<!doctype html><title>xia2 report</title><pre>{body}</pre>\n"
        files[f"{directory}/{log}"] = body.encode()
        tables["result_file"].append((pr_id, log, directory, "Log", 1))
        if status == "SUCCESS":
            files[f"{directory}/{name}_scaled.mtz"] = (
                b"MTZ \x00" + bytes(range(256)) * 4
            )  # a stand-in, not a real MTZ
            tables["result_file"].append((pr_id, f"{name}_scaled.mtz", directory, "Result", 2))
        else:
            tables["program_message"].append(
                (
                    pr_id,
                    "ERROR",
                    "Indexing failed",
                    f"{program}: no lattice explained the spots of collection {dc_id}",
                )
            )
        if dc_id not in seen:
            seen.add(dc_id)
            for position, angle in ((1, 0), (2, 90)):
                path = f"{root}/dc{dc_id}/snapshot_{angle}.png"
                files[path] = tiny_png(64, 48, seed=dc_id + position)
                tables["snapshot"].append((dc_id, position, path))
    return tables, files


# --- identifiers (issue 19) ------------------------------------------------------------------------

# Real PDB entries of the demo proteins (classic structures of each): acronym -> code.
DEMO_PDB_CODES: dict[str, str] = {"HEWL": "1LYZ", "TLN": "8TLN", "PROK": "2ID8", "GI": "1XIB", "TRY": "3PTB"}
# ESRF mints one DOI per experimental session (10.15151/ESRF-ES-<session>), open after its embargo.
SESSION_DOI_PREFIX: dict[str, str] = {"ESRF": "10.15151/ESRF-ES-"}
DEMO_EMBARGO = dt.timedelta(days=3 * 365)


def identifier_rows(gen: DemoFacility, ref: Tables) -> dict[str, list[Row]]:
    """Rows of the native `doi` (doi, licence, open_from, session_id) and `pdb_entry` (pdb_id, name,
    source, protein_id) tables for a facility's reference rows: session DOIs where the facility mints
    them, and each demo protein's PDB entry."""
    prefix = SESSION_DOI_PREFIX.get(gen.spec.name)
    dois: list[Row] = []
    if prefix is not None:
        for sid, _proposal, _n, _visit, _beamline, _start, end in ref.session:
            dois.append((f"{prefix}{sid}", "CC-BY-4.0", end + DEMO_EMBARGO, sid))
    entries: list[Row] = [
        (DEMO_PDB_CODES[acronym], name, "PDB", pid)
        for pid, _proposal, acronym, name, *_ in ref.protein
        if acronym in DEMO_PDB_CODES
    ]
    return {"doi": dois, "pdb_entry": entries}
