"""Characterisations of data collections (ISPyB Screening and its five child tables) as model.Screening.

Three statements per batch of collections, whatever its size: screenings with their outputs, the
outputs' lattices, and strategies joined to their wedges and sub-wedges. Unit quirks: scan_units.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb import scan_units as u
from site_adapter.backends.ispyb import visibility
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo

# (model field, ISPyB column) per table; labels are prefixed per level so one row holds three levels.
_OUTPUT = (
    ("id", "screeningOutputId"),
    ("status_description", "statusDescription"),
    ("program", "program"),
    ("indexing_success", "indexingSuccess"),
    ("strategy_success", "strategySuccess"),
    ("alignment_success", "alignmentSuccess"),
    ("mosaicity", "mosaicity"),
    ("mosaicity_estimated", "mosaicityEstimated"),
    ("ranking_resolution", "rankingResolution"),
    ("resolution_obtained", "resolutionObtained"),
    ("i_over_sigma", "iOverSigma"),
    ("spot_deviation_r", "spotDeviationR"),
    ("spot_deviation_theta", "spotDeviationTheta"),
    ("beam_shift_x", "beamShiftX"),
    ("beam_shift_y", "beamShiftY"),
    ("spots_found", "numSpotsFound"),
    ("spots_used", "numSpotsUsed"),
    ("spots_rejected", "numSpotsRejected"),
    ("rejected_reflections", "rejectedReflections"),
    ("diffraction_rings", "diffractionRings"),
    ("dose", "doseTotal"),
    ("total_exposure_time", "totalExposureTime"),
    ("total_rotation_range", "totalRotationRange"),
    ("total_number_of_images", "totalNumberOfImages"),
    ("r_friedel", "rFriedel"),
)
_LATTICE = (
    ("id", "screeningOutputLatticeId"),
    ("space_group", "spaceGroup"),
    ("point_group", "pointGroup"),
    ("bravais_lattice", "bravaisLattice"),
    *((f"cell_{x}", f"unitCell_{x}") for x in ("a", "b", "c", "alpha", "beta", "gamma")),
)
_STRATEGY = (
    ("id", "screeningStrategyId"),
    ("program", "program"),
    ("anomalous", "anomalous"),
    ("exposure_time", "exposureTime"),
    ("resolution", "resolution"),
    ("ranking_resolution", "rankingResolution"),
    ("transmission", "transmission"),
    ("phi_start", "phiStart"),
    ("phi_end", "phiEnd"),
    ("rotation", "rotation"),
    ("completeness", "completeness"),
    ("multiplicity", "multiplicity"),
)
_WEDGE = (
    ("id", "screeningStrategyWedgeId"),
    ("number", "wedgeNumber"),
    ("resolution", "resolution"),
    ("completeness", "completeness"),
    ("multiplicity", "multiplicity"),
    ("dose", "doseTotal"),
    ("number_of_images", "numberOfImages"),
    ("phi", "phi"),
    ("kappa", "kappa"),
    ("chi", "chi"),
    ("wavelength", "wavelength"),
    ("comments", "comments"),
)
_SUB_WEDGE = (
    ("id", "screeningStrategySubWedgeId"),
    ("number", "subWedgeNumber"),
    ("rotation_axis", "rotationAxis"),
    ("axis_start", "axisStart"),
    ("axis_end", "axisEnd"),
    ("oscillation_range", "oscillationRange"),
    ("exposure_time", "exposureTime"),
    ("transmission", "transmission"),
    ("completeness", "completeness"),
    ("multiplicity", "multiplicity"),
    ("resolution", "RESOLUTION"),
    ("dose", "doseTotal"),
    ("number_of_images", "numberOfImages"),
    ("comments", "comments"),
)

# The allow-list for schema_check.OPTIONAL_TABLES: every column this module reads, per table.
COLUMNS: dict[str, tuple[str, ...]] = {
    "Screening": (
        "screeningId",
        "dataCollectionId",
        "programVersion",
        "shortComments",
        "comments",
        "bltimeStamp",
    ),
    "ScreeningOutput": ("screeningId", *(c for _, c in _OUTPUT)),
    "ScreeningOutputLattice": ("screeningOutputId", *(c for _, c in _LATTICE)),
    "ScreeningStrategy": ("screeningOutputId", *(c for _, c in _STRATEGY)),
    "ScreeningStrategyWedge": ("screeningStrategyId", *(c for _, c in _WEDGE)),
    "ScreeningStrategySubWedge": ("screeningStrategyWedgeId", *(c for _, c in _SUB_WEDGE)),
}

_CONVERT: Mapping[type, Any] = {float: n.number, int: n.integer, bool: u.flag, str: n.text}
_FRACTION_NOTE = "completeness: ScreeningStrategy/Wedge/SubWedge store a fraction 0-1; multiplied by 100"
_ZERO_NOTE = (
    "exposureTime, doseTotal: 0 stored for 'not given' (mosflm sub-wedges, EDNA wedges); served as null"
)
_SUCCESS_NOTE = (
    "indexingSuccess/strategySuccess: 0 (the column default) though statusDescription says "
    "'Indexing successful'/'Strategy calculation successful'; taken from statusDescription"
)


def _select(s: SchemaInfo, alias: str, table: str, prefix: str, cols: Sequence[tuple[str, str]]) -> str:
    col = functools.partial(s.col, alias, table)
    return ", ".join(f"{col(c)} AS {prefix}{label}" for label, c in cols)


def _scope(s: SchemaInfo, count: int) -> str:
    """Screenings of the batch's collections that the viewer may see (the collection's access rule);
    its placeholders are the ids, then visibility_args(s)."""
    where = f"s.`dataCollectionId` IN ({id_list([0] * count)})"
    vis, _ = visibility.clause(s, "data_collection", "vdc")
    if vis:
        where += (
            " AND s.`dataCollectionId` IN (SELECT vdc.`dataCollectionId` FROM DataCollection vdc"
            f" WHERE {' AND '.join(vis)})"
        )
    return where


def _args(s: SchemaInfo, keys: list[int]) -> list[Any]:
    return [*keys, *visibility.clause(s, "data_collection", "vdc")[1]]


def screenings_sql(s: SchemaInfo, count: int) -> str:
    sc = functools.partial(s.col, "s", "Screening")
    return f"""
SELECT s.`screeningId` AS id, s.`dataCollectionId` AS dc, {sc("programVersion")} AS program,
       {sc("shortComments")} AS short_comments, {sc("comments")} AS comments, {sc("bltimeStamp")} AS time,
       {_select(s, "o", "ScreeningOutput", "o_", _OUTPUT)}
FROM Screening s
LEFT JOIN ScreeningOutput o ON o.`screeningId` = s.`screeningId`
WHERE {_scope(s, count)}
ORDER BY s.`dataCollectionId`, s.`screeningId`, o.`screeningOutputId`"""


def lattices_sql(s: SchemaInfo, count: int) -> str:
    return f"""
SELECT l.`screeningOutputId` AS parent, {_select(s, "l", "ScreeningOutputLattice", "", _LATTICE)}
FROM Screening s
JOIN ScreeningOutput o ON o.`screeningId` = s.`screeningId`
JOIN ScreeningOutputLattice l ON l.`screeningOutputId` = o.`screeningOutputId`
WHERE {_scope(s, count)}
ORDER BY l.`screeningOutputLatticeId`"""


def strategies_sql(s: SchemaInfo, count: int) -> str:
    wedges = s.has("ScreeningStrategyWedge")
    subs = wedges and s.has("ScreeningStrategySubWedge")
    w = _select(s, "w", "ScreeningStrategyWedge", "w_", _WEDGE) if wedges else "NULL AS w_id"
    sw = _select(s, "sw", "ScreeningStrategySubWedge", "sw_", _SUB_WEDGE) if subs else "NULL AS sw_id"
    joins = (
        " LEFT JOIN ScreeningStrategyWedge w ON w.`screeningStrategyId` = st.`screeningStrategyId`"
        if wedges
        else ""
    ) + (
        " LEFT JOIN ScreeningStrategySubWedge sw ON sw.`screeningStrategyWedgeId` = w.`screeningStrategyWedgeId`"
        if subs
        else ""
    )
    order = ", w.`screeningStrategyWedgeId`" if wedges else ""
    order += ", sw.`screeningStrategySubWedgeId`" if subs else ""
    return f"""
SELECT st.`screeningOutputId` AS parent, {_select(s, "st", "ScreeningStrategy", "st_", _STRATEGY)}, {w}, {sw}
FROM Screening s
JOIN ScreeningOutput o ON o.`screeningId` = s.`screeningId`
JOIN ScreeningStrategy st ON st.`screeningOutputId` = o.`screeningOutputId`{joins}
WHERE {_scope(s, count)}
ORDER BY st.`screeningStrategyId`{order}"""


def _part(row: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {k[len(prefix) :]: v for k, v in row.items() if k.startswith(prefix)}


class _Notes:
    """The quirks met while building one batch, per screening (its provenance)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def fix_completeness(self, value: object) -> float | None:
        v, converted = u.completeness_percent(value)
        if converted:
            self.seen.add(_FRACTION_NOTE)
        return v

    def fix_zero(self, value: object) -> float | None:
        v = u.positive(value)
        if v is None and n.number(value) == 0:
            self.seen.add(_ZERO_NOTE)
        return v


def _output(row: Mapping[str, Any], notes: _Notes) -> model.ScreeningOutput:
    o = model.from_row(model.ScreeningOutput, row, _CONVERT, n.local_id)
    status = (o.status_description or "").lower()
    indexed = bool(o.indexing_success) or "indexing successful" in status
    strategy = bool(o.strategy_success) or "strategy calculation successful" in status
    if indexed != bool(o.indexing_success) or strategy != bool(o.strategy_success):
        notes.seen.add(_SUCCESS_NOTE)
    return dataclasses.replace(
        o,
        indexing_success=indexed,
        strategy_success=strategy,
        dose=u.positive(row["dose"]),
    )


def _lattice(row: Mapping[str, Any]) -> model.ScreeningLattice:
    cell = [n.number(row[f"cell_{x}"]) for x in ("a", "b", "c", "alpha", "beta", "gamma")]
    return model.from_row(
        model.ScreeningLattice,
        row,
        _CONVERT,
        n.local_id,
        cell=model.UnitCell(*cell) if all(v is not None for v in cell) else None,  # type: ignore[arg-type]
    )


def _strategy(row: Mapping[str, Any], notes: _Notes) -> model.ScreeningStrategy:
    r = model.from_row(model.ScreeningStrategy, row, _CONVERT, n.local_id)
    return dataclasses.replace(
        r,
        completeness=notes.fix_completeness(row["completeness"]),
        exposure_time=notes.fix_zero(row["exposure_time"]),
    )


def _wedge(row: Mapping[str, Any], notes: _Notes) -> model.ScreeningWedge:
    r = model.from_row(model.ScreeningWedge, row, _CONVERT, n.local_id)
    return dataclasses.replace(
        r, completeness=notes.fix_completeness(row["completeness"]), dose=notes.fix_zero(row["dose"])
    )


def _sub_wedge(row: Mapping[str, Any], notes: _Notes) -> model.ScreeningSubWedge:
    r = model.from_row(model.ScreeningSubWedge, row, _CONVERT, n.local_id)
    return dataclasses.replace(
        r,
        completeness=notes.fix_completeness(row["completeness"]),
        exposure_time=notes.fix_zero(row["exposure_time"]),
        dose=notes.fix_zero(row["dose"]),
    )


def _strategies_by_output(
    rows: list[dict[str, Any]], notes_for: Any
) -> dict[str, list[model.ScreeningStrategy]]:
    """Strategies with their wedges and sub-wedges, by output id, from the rows of strategies_sql
    (one row per sub-wedge; a strategy or wedge repeats on each of its rows)."""
    strategy_rows: dict[str, tuple[str, model.ScreeningStrategy]] = {}
    wedge_rows: dict[str, tuple[str, model.ScreeningWedge]] = {}
    subs_of: dict[str, list[model.ScreeningSubWedge]] = {}
    for row in rows:
        parent = str(row["parent"])
        notes = notes_for(parent)
        st, w, sw = _part(row, "st_"), _part(row, "w_"), _part(row, "sw_")
        sid = str(st["id"])
        if sid not in strategy_rows:
            strategy_rows[sid] = (parent, _strategy(st, notes))
        if w.get("id") is not None and str(w["id"]) not in wedge_rows:
            wedge_rows[str(w["id"])] = (sid, _wedge(w, notes))
        if sw.get("id") is not None:
            subs_of.setdefault(str(w["id"]), []).append(_sub_wedge(sw, notes))
    wedges_of: dict[str, list[model.ScreeningWedge]] = {}
    for wid, (sid, wedge) in wedge_rows.items():
        wedges_of.setdefault(sid, []).append(
            dataclasses.replace(wedge, sub_wedges=tuple(subs_of.get(wid, ())))
        )
    out: dict[str, list[model.ScreeningStrategy]] = {}
    for sid, (parent, strategy) in strategy_rows.items():
        out.setdefault(parent, []).append(dataclasses.replace(strategy, wedges=tuple(wedges_of.get(sid, ()))))
    return out


def build(
    heads: list[dict[str, Any]],
    lattices: list[dict[str, Any]],
    strategies: list[dict[str, Any]],
    clock_stored: Any,
) -> dict[str, list[model.Screening]]:
    """Assemble the rows of the three statements into one tree per screening, in id order."""
    notes_of: dict[str, _Notes] = {}
    output_owner: dict[str, str] = {}  # output id -> screening id
    outputs: dict[str, list[model.ScreeningOutput]] = {}
    order: list[tuple[str, str, dict[str, Any]]] = []
    for row in heads:
        sid = str(row["id"])
        if sid not in notes_of:
            notes_of[sid], outputs[sid] = _Notes(), []
            order.append((str(row["dc"]), sid, row))
        o = _part(row, "o_")
        if o["id"] is not None:
            outputs[sid].append(_output(o, notes_of[sid]))
            output_owner[str(o["id"])] = sid
    lattices_of: dict[str, list[model.ScreeningLattice]] = {}
    for row in lattices:
        lattices_of.setdefault(str(row["parent"]), []).append(_lattice(row))
    strategies_of = _strategies_by_output(
        strategies, lambda output: notes_of.get(output_owner.get(output, ""), _Notes())
    )
    out: dict[str, list[model.Screening]] = {}
    for dc, sid, row in order:
        time, time_note = clock_stored(row["time"], "bltimeStamp")
        built = tuple(
            dataclasses.replace(
                o,
                lattices=tuple(lattices_of.get(o.local_id, ())),
                strategies=tuple(strategies_of.get(o.local_id, ())),
            )
            for o in outputs[sid]
        )
        notes = sorted(notes_of[sid].seen) + ([time_note] if time_note else [])
        out.setdefault(dc, []).append(
            model.Screening(
                local_id=sid,
                data_collection_local_id=dc,
                program=n.text(row["program"]),
                short_comments=n.text(row["short_comments"]),
                comments=n.text(row["comments"]),
                time=time if isinstance(time, dt.datetime) else None,
                outputs=built,
                provenance_notes=tuple(notes),
            )
        )
    return out


async def by_collection(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.Screening]]:
    """Every collection asked for gets a list (empty without screenings); three statements."""
    keys = int_ids(ids)
    out: dict[str, list[model.Screening]] = {str(i): [] for i in ids}
    if not keys or not s.has("Screening") or not s.has("ScreeningOutput"):
        return out
    heads = await db.fetch_rows(screenings_sql(s, len(keys)), _args(s, keys))
    if not heads:
        return out
    lattices = (
        await db.fetch_rows(lattices_sql(s, len(keys)), _args(s, keys))
        if s.has("ScreeningOutputLattice")
        else []
    )
    strategies = (
        await db.fetch_rows(strategies_sql(s, len(keys)), _args(s, keys))
        if s.has("ScreeningStrategy")
        else []
    )
    out.update(build(heads, lattices, strategies, s.clock.stored))
    return out
