"""Seeded demo characterisations, energy scans, XRF spectra, plans and doses (issue 16, schema 1.2.0).

Pure generation, as demo_data is (rows in the native store's column order, for COPY); kept apart from
demo_data.py, which is past 500 lines, and read by native/screening_demo.py after the bulk load.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from site_adapter.demo_data import Row

# Values follow what the real programs write: EDNA/BEST strategies as Diamond's ISPyB holds them
# (../shared/fixtures/ispyb-database/data.sql: Screening 1927972), a Se K-edge scan as Chooch reports it
# (data.sql EnergyScan 50261: peak 12660.5 eV f' -7.64 f'' 10.63; inflection f' -11.08 f'' 7.15).

SE_K_EDGE = 12658.0  # eV, the Se K absorption edge (tabulated 12657.8 eV)
HOLTON_PHOTONS_PER_GY = 2000.0  # photons/µm² per Gy at ~1 Å (Holton, J. Synchrotron Rad. 2009)

SCREENING_COLUMNS = ("id", "data_collection_id", "program", "short_comments", "comments", "time", "outputs")
ENERGY_SCAN_COLUMNS = (
    "id", "session_id", "sample_id", "element", "edge", "start_energy", "end_energy",
    "peak_energy", "peak_f_prime", "peak_f_double_prime",
    "inflection_energy", "inflection_f_prime", "inflection_f_double_prime",
    "exposure_time", "transmission", "beam_size_x", "beam_size_y", "flux", "dose",
    "fluorescence_detector", "start_time", "end_time", "comments", "scan_file", "chooch_file", "chooch_plot_file",
)  # fmt: skip
XRF_COLUMNS = (
    "id", "session_id", "sample_id", "energy", "exposure_time", "transmission", "beam_size_x", "beam_size_y",
    "flux", "start_time", "end_time", "comments", "spectrum_file", "scan_file", "fitted_file",
    "annotated_file", "plot_file", "elements",
)  # fmt: skip
PLAN_COLUMNS = (
    "id", "name", "experiment_kind", "required_resolution", "required_completeness", "required_multiplicity",
    "anomalous", "anomalous_scatterer", "preferred_beam_size_x", "preferred_beam_size_y",
    "radiation_sensitivity", "number_of_positions", "exposure_time", "energy", "forced_space_group", "comments",
)  # fmt: skip


@dataclass(frozen=True)
class Characterised:
    """A characterisation collection as the demo loaded it: what a strategy program would have seen."""

    data_collection_id: int
    start_time: dt.datetime
    space_group: str | None
    cell: tuple[float, float, float, float, float, float] | None
    wavelength: float
    resolution: float  # Å at the detector edge
    beam_size: tuple[float, float]  # µm
    directory: str


def dose_mgy(flux: float, exposure: float, images: int, beam_x: float, beam_y: float) -> float:
    """Absorbed dose by Holton's rule of thumb: photons per µm² over 2000 gives Gy."""
    return round(flux * exposure * images / (beam_x * beam_y) / HOLTON_PHOTONS_PER_GY / 1e6, 3)


def _ranking(rng: random.Random, edge: float) -> float:
    return round(max(edge, edge + rng.uniform(0.05, 0.6)), 2)


def _strategy(rng: random.Random, sid: int, c: Characterised, kind: str) -> dict[str, Any]:
    """One BEST strategy (native, anomalous or gentle), with its one wedge and sub-wedge."""
    res = _ranking(rng, c.resolution)
    anomalous = kind == "anomalous"
    multiplicity = {"native": rng.uniform(3.8, 4.4), "anomalous": rng.uniform(6.5, 8.0), "gentle": 2.1}[kind]
    width = 180.0 if anomalous else round(rng.choice((90.0, 120.0, 180.0)), 1)
    osc = 0.1
    images = int(width / osc)
    start = float(rng.randrange(0, 180))
    exposure = rng.choice((0.01, 0.02, 0.04))
    transmission = round(rng.uniform(8, 60) * (0.5 if kind == "gentle" else 1.0), 2)
    # dose: the beam's dose rate at full transmission (MGy/s, a micro-focus MX beam) times the exposure
    dose = round(images * exposure * transmission / 100 * rng.uniform(0.05, 0.15), 3)
    completeness = round(rng.uniform(99.0, 100.0), 1)
    sub = {
        "id": sid * 10 + 1, "number": 1, "rotation_axis": "Omega", "axis_start": start, "axis_end": start + width,
        "oscillation_range": osc, "exposure_time": exposure, "transmission": transmission,
        "completeness": completeness, "multiplicity": round(multiplicity, 2), "resolution": res, "dose": dose,
        "number_of_images": images,
    }  # fmt: skip
    wedge = {
        "id": sid * 10, "number": 1, "resolution": res, "completeness": completeness,
        "multiplicity": round(multiplicity, 2), "dose": dose, "number_of_images": images, "phi": 0.0,
        "kappa": 0.0, "chi": 0.0, "wavelength": c.wavelength, "sub_wedges": [sub],
    }  # fmt: skip
    return {
        "id": sid, "program": "BEST", "anomalous": anomalous, "exposure_time": exposure, "resolution": res,
        "ranking_resolution": res, "transmission": transmission, "phi_start": start, "phi_end": start + width,
        "rotation": osc, "completeness": completeness, "multiplicity": round(multiplicity, 2), "wedges": [wedge],
    }  # fmt: skip


_EDNA_STRATEGIES = (
    ("EDNAStrategy1", "native", "Standard Native Dataset Multiplicity=3 I/sig=2 Maxlifespan={life} s"),
    ("EDNAStrategy2", "anomalous", "Standard Anomalous Dataset Multiplicity=3 I/sig=2 Maxlifespan={life} s"),
    ("EDNAStrategy4", "gentle", "Gentle: Target Multiplicity=2 and target I/Sig 2 and Maxlifespan={life} s"),
)


def screening_rows(site: str, seed: int, collections: list[Characterised]) -> Iterator[Row]:
    """EDNA characterisations (three strategies each, as Diamond's pipeline writes) of each collection."""
    rng = random.Random(f"{seed}:{site}:screening")
    for c in collections:
        group = c.space_group.replace(" ", "") if c.space_group else "P1"
        life = rng.choice((202, 403, 4034))
        mosaicity = round(rng.uniform(0.08, 0.6), 2)
        spots = rng.randrange(180, 900)
        cell = c.cell or (50.0, 60.0, 70.0, 90.0, 90.0, 90.0)
        for k, (short, kind, text) in enumerate(_EDNA_STRATEGIES):
            sid = c.data_collection_id * 10 + k
            strategy = _strategy(rng, sid, c, kind)
            output = {
                "id": sid,
                "status_description": f"Labelit: Indexing successful ({group}). Integration successful. "
                "Strategy calculation successful.",
                "program": "BEST",
                "indexing_success": True,
                "strategy_success": True,
                "alignment_success": False,
                "mosaicity": mosaicity,
                "mosaicity_estimated": True,
                "ranking_resolution": strategy["ranking_resolution"],
                "resolution_obtained": strategy["resolution"],
                "i_over_sigma": round(rng.uniform(2.0, 25.0), 1),
                "spot_deviation_r": round(rng.uniform(0.02, 0.12), 3),
                "spot_deviation_theta": round(rng.uniform(0.01, 0.2), 3),
                "beam_shift_x": round(rng.uniform(-0.06, 0.06), 4),
                "beam_shift_y": round(rng.uniform(-0.06, 0.06), 4),
                "spots_found": spots,
                "spots_used": int(spots * rng.uniform(0.8, 0.97)),
                "spots_rejected": int(spots * rng.uniform(0.01, 0.05)),
                "dose": strategy["wedges"][0]["dose"],
                "total_exposure_time": round(
                    strategy["exposure_time"] * strategy["wedges"][0]["number_of_images"], 3
                ),
                "total_rotation_range": strategy["phi_end"] - strategy["phi_start"],
                "total_number_of_images": strategy["wedges"][0]["number_of_images"],
                "lattices": [
                    {
                        "id": sid,
                        "space_group": group,
                        "cell": dict(zip(("a", "b", "c", "alpha", "beta", "gamma"), cell, strict=True)),
                    }
                ],
                "strategies": [strategy],
            }
            yield (
                sid,
                c.data_collection_id,
                "EDNA MXv1",
                short,
                text.format(life=life),
                c.start_time + dt.timedelta(minutes=2),
                json.dumps([output]),
            )


def scan_rows(
    site: str, seed: int, sessions: list[tuple[int, int | None, dt.datetime, str]]
) -> tuple[list[Row], list[Row]]:
    """A Se K-edge energy scan and an XRF spectrum on one sample of each (session, sample, start, visit
    directory) given: what a SeMet SAD experiment begins with."""
    rng = random.Random(f"{seed}:{site}:scans")
    scans: list[Row] = []
    spectra: list[Row] = []
    for k, (session_id, sample_id, start, directory) in enumerate(sessions):
        t = start + dt.timedelta(minutes=20 + rng.randrange(30))
        stem = f"{directory.rstrip('/')}/fluorescence_scans/se_{k + 1}"
        peak = round(SE_K_EDGE + rng.uniform(1.5, 3.5), 1)
        inflection = round(SE_K_EDGE + rng.uniform(-0.5, 0.5), 1)
        scans.append(
            (
                k + 1, session_id, sample_id, "Se", "K", SE_K_EDGE - 30, SE_K_EDGE + 30,
                peak, round(rng.uniform(-8.2, -7.0), 2), round(rng.uniform(9.5, 11.5), 2),
                inflection, round(rng.uniform(-12.8, -10.4), 2), round(rng.uniform(4.2, 7.2), 2),
                1.0, round(rng.choice((0.2, 0.4, 0.8, 12.8)), 1), 50.0, 20.0, None, None,
                "Vortex1_MCAScaler", t, t + dt.timedelta(minutes=7), None,
                f"{stem}.fluo", f"{stem}.efs", f"{stem}_chooch.png",
            )
        )  # fmt: skip
        x = t - dt.timedelta(minutes=3)
        xstem = f"{directory.rstrip('/')}/{x:%Y%m%d_%H_%M_%S}"
        spectra.append(
            (
                k + 1, session_id, sample_id, 12700.0, 1.0, round(rng.choice((1.6, 6.4, 12.8)), 1), 50.0, 20.0,
                None, x, x + dt.timedelta(seconds=50), None, f"{xstem}.mca", f"{xstem}.dat",
                f"{xstem}_fit.dat", f"{xstem}.html", f"{xstem}.png", ["Se", "Zn"] if k % 2 else ["Se"],
            )
        )  # fmt: skip
    return scans, spectra


def plan_rows() -> list[Row]:
    """The plans users most often send with their pucks: native, SeMet SAD, and an MXPressE screen."""
    return [
        (1, "native", "OSC", 1.8, 99.5, 4.0, False, None, 50.0, 20.0, 1.0, 1, 0.02, None, None, None),
        (2, "semet-sad", "SAD", 2.2, 99.0, 8.0, True, "Se", 50.0, 20.0, 1.0, 1, 0.02, 12658.0, None,
         "Collect at the Se peak from the energy scan"),
        (3, "mxpresse", "MXPressE", None, 99.0, 4.0, False, None, 20.0, 20.0, 1.0, 1, None, None, None, None),
    ]  # fmt: skip
