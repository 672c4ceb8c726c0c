"""Energy scans, XRF spectra (ISPyB EnergyScan, XFEFluorescenceSpectrum) and diffraction plans.

One statement per relation per batch (by session or by sample). Units are made canonical here, once,
with the rules and their evidence in scan_units; each record's notes say what was converted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import scan_units as u
from site_adapter.backends.ispyb import visibility
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo

R = TypeVar("R")

_ENERGY_SCAN = (
    ("id", "energyScanId"),
    ("session_id", "sessionId"),
    ("sample_id", "blSampleId"),
    ("element", "element"),
    ("edge", "edgeEnergy"),  # despite its name a varchar holding the edge: 'K'
    ("start_energy", "startEnergy"),
    ("end_energy", "endEnergy"),
    ("peak_energy", "peakEnergy"),
    ("peak_f_prime", "peakFPrime"),
    ("peak_f_double_prime", "peakFDoublePrime"),
    ("inflection_energy", "inflectionEnergy"),
    ("inflection_f_prime", "inflectionFPrime"),
    ("inflection_f_double_prime", "inflectionFDoublePrime"),
    ("exposure_time", "exposureTime"),
    ("transmission", "transmissionFactor"),
    ("beam_size_x", "beamSizeHorizontal"),
    ("beam_size_y", "beamSizeVertical"),
    ("flux", "flux"),
    ("dose", "xrayDose"),
    ("fluorescence_detector", "fluorescenceDetector"),
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("comments", "comments"),
    ("scan_file", "scanFileFullPath"),
    ("chooch_file", "choochFileFullPath"),
    ("chooch_plot_file", "jpegChoochFileFullPath"),
)
_XRF = (
    ("id", "xfeFluorescenceSpectrumId"),
    ("session_id", "sessionId"),
    ("sample_id", "blSampleId"),
    ("energy", "energy"),
    ("exposure_time", "exposureTime"),
    ("transmission", "beamTransmission"),
    ("beam_size_x", "beamSizeHorizontal"),
    ("beam_size_y", "beamSizeVertical"),
    ("flux", "flux"),
    ("start_time", "startTime"),
    ("end_time", "endTime"),
    ("comments", "comments"),
    ("spectrum_file", "filename"),
    ("scan_file", "scanFileFullPath"),
    ("fitted_file", "fittedDataFileFullPath"),
    ("annotated_file", "annotatedPymcaXfeSpectrum"),
    ("plot_file", "jpegScanFileFullPath"),
)
_PLAN = (
    ("id", "diffractionPlanId"),
    ("name", "name"),
    ("experiment_kind", "experimentKind"),
    ("required_resolution", "requiredResolution"),
    ("required_completeness", "requiredCompleteness"),
    ("required_multiplicity", "requiredMultiplicity"),
    ("anomalous", "anomalousData"),
    ("anomalous_scatterer", "anomalousScatterer"),
    ("preferred_beam_size_x", "preferredBeamSizeX"),
    ("preferred_beam_size_y", "preferredBeamSizeY"),
    ("radiation_sensitivity", "radiationSensitivity"),
    ("number_of_positions", "numberOfPositions"),
    ("exposure_time", "exposureTime"),
    ("energy", "energy"),
    ("forced_space_group", "forcedSpaceGroup"),
    ("comments", "comments"),
)

# The allow-list for schema_check.OPTIONAL_TABLES.
COLUMNS: dict[str, tuple[str, ...]] = {
    "EnergyScan": tuple(c for _, c in _ENERGY_SCAN),
    "XFEFluorescenceSpectrum": tuple(c for _, c in _XRF),
    "DiffractionPlan": tuple(c for _, c in _PLAN),
}

_CONVERT: Mapping[type, Any] = {float: n.number, int: n.integer, bool: u.flag, str: n.text}


def _select(s: SchemaInfo, alias: str, table: str, cols: Sequence[tuple[str, str]]) -> str:
    col = functools.partial(s.col, alias, table)
    return ", ".join(f"{col(c)} AS {label}" for label, c in cols)


def _energy_scan(row: Mapping[str, Any], s: SchemaInfo) -> model.EnergyScan:
    notes: list[str | None] = []
    energies: dict[str, float | None] = {}
    for name, column in (
        ("start_energy", "startEnergy"),
        ("end_energy", "endEnergy"),
        ("peak_energy", "peakEnergy"),
        ("inflection_energy", "inflectionEnergy"),
    ):
        energies[name], note = u.energy_ev(row[name], f"EnergyScan.{column}")
        notes.append(note)
    transmission, t_note = u.fraction_percent(row["transmission"], "EnergyScan.transmissionFactor")
    bx, bx_note = u.beam_um(row["beam_size_x"], "EnergyScan.beamSizeHorizontal")
    by, by_note = u.beam_um(row["beam_size_y"], "EnergyScan.beamSizeVertical")
    start, start_note = s.clock.stored(row["start_time"], "EnergyScan.startTime")
    end, end_note = s.clock.stored(row["end_time"], "EnergyScan.endTime")
    notes += [t_note, bx_note, by_note, start_note, end_note]
    return model.from_row(
        model.EnergyScan,
        row,
        _CONVERT,
        n.local_id,
        **energies,
        transmission=transmission,
        beam_size_x=bx,
        beam_size_y=by,
        dose=u.positive(row["dose"]),
        start_time=start,
        end_time=end,
        comments=_comment(row["comments"]),
        provenance_notes=tuple(dict.fromkeys(x for x in notes if x)),
    )


def _xrf(row: Mapping[str, Any], s: SchemaInfo) -> model.XrfSpectrum:
    energy, e_note = u.energy_ev(row["energy"], "XFEFluorescenceSpectrum.energy")
    bx, bx_note = u.beam_um(row["beam_size_x"], "XFEFluorescenceSpectrum.beamSizeHorizontal")
    by, by_note = u.beam_um(row["beam_size_y"], "XFEFluorescenceSpectrum.beamSizeVertical")
    start, start_note = s.clock.stored(row["start_time"], "XFEFluorescenceSpectrum.startTime")
    end, end_note = s.clock.stored(row["end_time"], "XFEFluorescenceSpectrum.endTime")
    notes = (e_note, bx_note, by_note, start_note, end_note)
    # beamTransmission is a percentage (data.sql: 1.6, 6.4, 100), served as stored.
    return model.from_row(
        model.XrfSpectrum,
        row,
        _CONVERT,
        n.local_id,
        energy=energy,
        beam_size_x=bx,
        beam_size_y=by,
        start_time=start,
        end_time=end,
        comments=_comment(row["comments"]),
        provenance_notes=tuple(dict.fromkeys(x for x in notes if x)),
    )


def _visible(s: SchemaInfo, alias: str) -> str:
    """A scan or spectrum follows its session's access rule (a visible sample's scans in a hidden
    session stay hidden); its arguments come after the ids (_grouped)."""
    vis, _ = visibility.clause(s, "session", "v")
    if not vis:
        return ""
    return f" AND {alias}.`sessionId` IN (SELECT v.`sessionId` FROM BLSession v WHERE {' AND '.join(vis)})"


def _comment(value: object) -> str | None:
    """Comments as stored, but for the placeholder 'null _FLAG_' data.sql holds (EnergyScan 50261)."""
    t = n.text(value)
    return None if t is None or t.strip() == "null _FLAG_" else t


async def _grouped(
    db: Any,
    sql: str,
    keys: list[int],
    key_label: str,
    s: SchemaInfo,
    build: Callable[[Mapping[str, Any]], R],
    ids: Sequence[str],
) -> dict[str, list[R]]:
    out: dict[str, list[R]] = {str(i): [] for i in ids}
    if not keys:
        return out
    for row in await db.fetch_rows(sql, [*keys, *visibility.clause(s, "session", "v")[1]]):
        out.setdefault(str(row[key_label]), []).append(build(row))
    return out


async def energy_scans(
    db: Any, s: SchemaInfo, ids: Sequence[str], by: str
) -> dict[str, list[model.EnergyScan]]:
    """Energy scans of sessions (`by` = "session") or samples ("sample"), by id; one statement."""
    keys = int_ids(ids)
    if not s.has("EnergyScan"):
        return {str(i): [] for i in ids}
    column = "sessionId" if by == "session" else "blSampleId"
    sql = (
        f"SELECT {_select(s, 'e', 'EnergyScan', _ENERGY_SCAN)} FROM EnergyScan e"
        f" WHERE e.`{column}` IN ({id_list(keys or [0])}){_visible(s, 'e')} ORDER BY e.`{column}`, e.`energyScanId`"
    )
    return await _grouped(db, sql, keys, f"{by}_id", s, lambda r: _energy_scan(r, s), ids)


async def xrf_spectra(
    db: Any, s: SchemaInfo, ids: Sequence[str], by: str
) -> dict[str, list[model.XrfSpectrum]]:
    """XRF spectra of sessions or samples, by id; one statement."""
    keys = int_ids(ids)
    if not s.has("XFEFluorescenceSpectrum"):
        return {str(i): [] for i in ids}
    column = "sessionId" if by == "session" else "blSampleId"
    sql = (
        f"SELECT {_select(s, 'x', 'XFEFluorescenceSpectrum', _XRF)} FROM XFEFluorescenceSpectrum x"
        f" WHERE x.`{column}` IN ({id_list(keys or [0])}){_visible(s, 'x')}"
        f" ORDER BY x.`{column}`, x.`xfeFluorescenceSpectrumId`"
    )
    return await _grouped(db, sql, keys, f"{by}_id", s, lambda r: _xrf(r, s), ids)


async def plans_by_sample(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
    """Each sample's plan: BLSample.diffractionPlanId, else its crystal's; one statement."""
    keys = int_ids(ids)
    if not keys or not s.has("DiffractionPlan") or not s.has("BLSample", "diffractionPlanId"):
        return {}
    crystal = "c.`diffractionPlanId`" if s.has("Crystal", "diffractionPlanId") else "NULL"
    sql = (
        f"SELECT b.`blSampleId` AS sample, {_select(s, 'p', 'DiffractionPlan', _PLAN)} FROM BLSample b"
        " LEFT JOIN Crystal c ON c.`crystalId` = b.`crystalId`"
        f" JOIN DiffractionPlan p ON p.`diffractionPlanId` = COALESCE(b.`diffractionPlanId`, {crystal})"
        f" WHERE b.`blSampleId` IN ({id_list(keys)})"
    )
    vis, vis_args = visibility.clause(s, "sample", "b")
    sql += "".join(f" AND {w}" for w in vis)
    rows = await db.fetch_rows(sql, [*keys, *vis_args])
    return {str(r["sample"]): _plan(r) for r in rows}


async def plans_by_collection(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.DiffractionPlan]:
    """Each collection's plan (DataCollection.dataCollectionPlanId); one statement."""
    keys = int_ids(ids)
    if not keys or not s.has("DiffractionPlan") or not s.has("DataCollection", "dataCollectionPlanId"):
        return {}
    sql = (
        f"SELECT dc.`dataCollectionId` AS collection, {_select(s, 'p', 'DiffractionPlan', _PLAN)}"
        " FROM DataCollection dc JOIN DiffractionPlan p ON p.`diffractionPlanId` = dc.`dataCollectionPlanId`"
        f" WHERE dc.`dataCollectionId` IN ({id_list(keys)})"
    )
    vis, vis_args = visibility.clause(s, "data_collection", "dc")
    sql += "".join(f" AND {w}" for w in vis)
    rows = await db.fetch_rows(sql, [*keys, *vis_args])
    return {str(r["collection"]): _plan(r) for r in rows}


def _plan(row: Mapping[str, Any]) -> model.DiffractionPlan:
    # preferredBeamSizeX/Y: µm (data.sql plan 197784: 10.5 on i03); energy: eV (the column's comment).
    return model.from_row(model.DiffractionPlan, row, _CONVERT, n.local_id)
