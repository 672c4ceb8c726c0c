"""What a processing result (an AutoProcScaling) led to, read from ISPyB: the integrations it scaled,
molecular replacement runs (MXMRRun: Dimple at Diamond) and experimental phasing (Phasing).

One statement per relation per batch, keyed by autoProcScalingId (a ProcessingResult's local id).
MXMRRun R values: data.sql's Dimple run 672897 stores rValueEnd 0.1682 and rFreeValueEnd 0.1888, the
fractions Dimple prints; a value above 1 can only be percent and is divided by 100, with a note.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.grids import usable
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_CELL = ("a", "b", "c", "alpha", "beta", "gamma")


def _lists(ids: Sequence[str]) -> dict[str, list[Any]]:
    return {str(i): [] for i in ids}


async def integrations(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.Integration]]:
    """The integrations each result scaled (AutoProcScaling_has_Int), each once, by integration id."""
    keys = int_ids(ids)
    out: dict[str, list[model.Integration]] = _lists(ids)
    if not keys:
        return out
    api = functools.partial(s.col, "api", "AutoProcIntegration")
    cell = ", ".join(f"{api(f'cell_{x}')} AS cell_{x}" for x in _CELL)
    rows = await db.fetch_rows(
        f"SELECT DISTINCT shi.`autoProcScalingId` AS sc, api.`autoProcIntegrationId` AS id,"
        f" api.`dataCollectionId` AS dc, {s.col('app', 'AutoProcProgram', 'processingPrograms')} AS programs,"
        f" {api('startImageNumber')} AS start_image, {api('endImageNumber')} AS end_image,"
        f" {api('refinedDetectorDistance')} AS distance, {api('refinedXBeam')} AS beam_x,"
        f" {api('refinedYBeam')} AS beam_y, {api('rotationAxisX')} AS axis_x, {api('rotationAxisY')} AS axis_y,"
        f" {api('rotationAxisZ')} AS axis_z, {api('anomalous')} AS anomalous, {cell}"
        " FROM AutoProcScaling_has_Int shi"
        " JOIN AutoProcIntegration api ON api.`autoProcIntegrationId` = shi.`autoProcIntegrationId`"
        " LEFT JOIN AutoProcProgram app ON app.`autoProcProgramId` = api.`autoProcProgramId`"
        f" WHERE shi.`autoProcScalingId` IN ({id_list(keys)})"
        " ORDER BY shi.`autoProcScalingId`, api.`autoProcIntegrationId`",
        keys,
    )
    for row in rows:
        values = [n.number(row[f"cell_{x}"]) for x in _CELL]
        anomalous = n.integer(row["anomalous"])
        out.setdefault(str(row["sc"]), []).append(
            model.Integration(
                local_id=str(row["id"]),
                processing_result_local_id=str(row["sc"]),
                data_collection_local_id=str(row["dc"]),
                program=n.program_name(row["programs"]),
                start_image_number=n.integer(row["start_image"]),
                end_image_number=n.integer(row["end_image"]),
                refined_detector_distance=n.number(row["distance"]),
                refined_beam_centre_x=n.number(row["beam_x"]),
                refined_beam_centre_y=n.number(row["beam_y"]),
                cell=model.UnitCell(*values) if all(v is not None for v in values) else None,  # type: ignore[arg-type]
                rotation_axis_x=n.number(row["axis_x"]),
                rotation_axis_y=n.number(row["axis_y"]),
                rotation_axis_z=n.number(row["axis_z"]),
                anomalous=None if anomalous is None else bool(anomalous),
            )
        )
    return out


def _log_files(s: SchemaInfo) -> str:
    """A subquery: the program's log files (AutoProcProgramAttachment 'Log', not deleted), one a line."""
    if not usable(s, "AutoProcProgramAttachment", "autoProcProgramId", "fileName"):
        return "NULL"
    a = functools.partial(s.col, "a", "AutoProcProgramAttachment")
    kept = " AND COALESCE(a.`deleted`, 0) = 0" if s.has("AutoProcProgramAttachment", "deleted") else ""
    typed = " AND a.`fileType` = 'Log'" if s.has("AutoProcProgramAttachment", "fileType") else ""
    return (
        f"(SELECT GROUP_CONCAT(CONCAT_WS('/', {a('filePath')}, a.`fileName`)"
        " ORDER BY a.`fileName` SEPARATOR '\\n') FROM AutoProcProgramAttachment a"
        f" WHERE a.`autoProcProgramId` = m.`autoProcProgramId`{typed}{kept})"
    )


_R_COLUMNS = (
    ("r_start", "rValueStart"),
    ("r_end", "rValueEnd"),
    ("r_free_start", "rFreeValueStart"),
    ("r_free_end", "rFreeValueEnd"),
)


def _mr_run(row: dict[str, Any], s: SchemaInfo) -> model.MrRun:
    r_values = {label: n.number(row[label]) for label, _ in _R_COLUMNS}
    notes: list[str] = []
    if any(v is not None and v > 1.0 for v in r_values.values()):
        r_values = {k: n.fraction(v, True) for k, v in r_values.items()}
        notes.append("R, Rfree: a value above 1 shows percent; divided by 100")
    start, start_note = s.clock.stored(row["start_time"], "processingStartTime")
    end, end_note = s.clock.stored(row["end_time"], "processingEndTime")
    logs = n.text(row["logs"])
    return model.MrRun(
        local_id=str(row["id"]),
        processing_result_local_id=str(row["sc"]),
        program=n.program_name(row["programs"]),
        status=n.status(row["processing_status"], row["start_time"], row["end_time"]),
        message=n.text(row["message"]),
        llg=n.number(row["llg"]),
        tfz=n.number(row["tfz"]),
        space_group=n.text(row["space_group"]),
        start_time=start,
        end_time=end,
        log_files=tuple(logs.split("\n")) if logs else (),
        provenance_notes=tuple(x for x in (*notes, start_note, end_note) if x),
        **r_values,
    )


async def mr_runs(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.MrRun]]:
    """MXMRRun rows of each result with their program's status, times and log files, by run id."""
    keys = int_ids(ids)
    out: dict[str, list[model.MrRun]] = _lists(ids)
    if not keys or not usable(s, "MXMRRun", "mxMRRunId", "autoProcScalingId"):
        return out
    m = functools.partial(s.col, "m", "MXMRRun")
    app = functools.partial(s.col, "app", "AutoProcProgram")
    linked = s.has("MXMRRun", "autoProcProgramId")
    r_cols = ", ".join(f"{m(col)} AS {label}" for label, col in _R_COLUMNS)
    rows = await db.fetch_rows(
        f"SELECT m.`autoProcScalingId` AS sc, m.`mxMRRunId` AS id, {r_cols}, {m('LLG')} AS llg,"
        f" {m('TFZ')} AS tfz, {m('spaceGroup')} AS space_group, {app('processingPrograms')} AS programs,"
        f" app.`processingStatus` AS processing_status, {app('processingMessage')} AS message,"
        f" {app('processingStartTime')} AS start_time, {app('processingEndTime')} AS end_time,"
        f" {_log_files(s) if linked else 'NULL'} AS logs"
        " FROM MXMRRun m"
        " LEFT JOIN AutoProcProgram app ON app.`autoProcProgramId` = "
        + ("m.`autoProcProgramId`" if linked else "NULL")
        + f" WHERE m.`autoProcScalingId` IN ({id_list(keys)})"
        " ORDER BY m.`autoProcScalingId`, m.`mxMRRunId`",
        keys,
    )
    for row in rows:
        out.setdefault(str(row["sc"]), []).append(_mr_run(row, s))
    return out


def _statistic(s: SchemaInfo, metric: str) -> str:
    """A subquery: the overall value (binNumber 999, PhasingStatistics' comment) of one metric."""
    if not usable(s, "PhasingStatistics", "phasingHasScalingId1", "binNumber", "metric", "statisticsValue"):
        return "NULL"
    return (
        "(SELECT MAX(ps.`statisticsValue`) FROM PhasingStatistics ps"
        " WHERE ps.`phasingHasScalingId1` = phs.`phasingHasScalingId` AND ps.`binNumber` = 999"
        f" AND ps.`metric` = '{metric}')"
    )


async def phasing(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, list[model.Phasing]]:
    """Phasing rows of each result (through Phasing_has_Scaling's analysis), by phasing id."""
    keys = int_ids(ids)
    out: dict[str, list[model.Phasing]] = _lists(ids)
    if not (
        keys
        and usable(s, "Phasing_has_Scaling", "phasingHasScalingId", "phasingAnalysisId", "autoProcScalingId")
        and usable(s, "Phasing", "phasingId", "phasingAnalysisId")
    ):
        return out
    p = functools.partial(s.col, "p", "Phasing")
    run_join = (
        " LEFT JOIN PhasingProgramRun r ON r.`phasingProgramRunId` = p.`phasingProgramRunId`"
        if usable(s, "PhasingProgramRun", "phasingProgramRunId") and s.has("Phasing", "phasingProgramRunId")
        else ""
    )
    group_join = (
        " LEFT JOIN SpaceGroup sg ON sg.`spaceGroupId` = p.`spaceGroupId`"
        if usable(s, "SpaceGroup", "spaceGroupId") and s.has("Phasing", "spaceGroupId")
        else ""
    )
    sg = s.col("sg", "SpaceGroup", "spaceGroupShortName") if group_join else "NULL"

    def r(column: str) -> str:  # no program run table: program, status and times unknown
        return s.col("r", "PhasingProgramRun", column) if run_join else "NULL"

    rows = await db.fetch_rows(
        f"SELECT phs.`autoProcScalingId` AS sc, p.`phasingId` AS id, {r('phasingPrograms')} AS programs,"
        f" {r('phasingStatus')} AS phasing_status, {r('phasingStartTime')} AS start_time,"
        f" {r('phasingEndTime')} AS end_time, {p('method')} AS method, {sg} AS space_group,"
        f" {p('lowRes')} AS low, {p('highRes')} AS high, {p('enantiomorph')} AS enantiomorph,"
        f" {p('solventContent')} AS solvent, {_statistic(s, 'FOM')} AS fom,"
        f" {_statistic(s, 'Pseudo_free_CC')} AS pseudo_free_cc"
        " FROM Phasing_has_Scaling phs"
        f" JOIN Phasing p ON p.`phasingAnalysisId` = phs.`phasingAnalysisId`{run_join}{group_join}"
        f" WHERE phs.`autoProcScalingId` IN ({id_list(keys)})"
        " ORDER BY phs.`autoProcScalingId`, p.`phasingId`",
        keys,
    )
    for row in rows:
        start, _ = s.clock.stored(row["start_time"], "phasingStartTime")
        end, _ = s.clock.stored(row["end_time"], "phasingEndTime")
        enantiomorph = n.integer(row["enantiomorph"])
        out.setdefault(str(row["sc"]), []).append(
            model.Phasing(
                local_id=str(row["id"]),
                processing_result_local_id=str(row["sc"]),
                program=n.program_name(row["programs"]),
                status=n.status(row["phasing_status"], row["start_time"], row["end_time"]),
                method=n.text(row["method"]),
                space_group=n.text(row["space_group"]),
                resolution_low=n.number(row["low"]),
                resolution_high=n.number(row["high"]),
                figure_of_merit=n.number(row["fom"]),
                pseudo_free_cc=n.number(row["pseudo_free_cc"]),
                enantiomorph=None if enantiomorph is None else bool(enantiomorph),
                solvent_content=n.number(row["solvent"]),
                start_time=start,
                end_time=end,
            )
        )
    return out
