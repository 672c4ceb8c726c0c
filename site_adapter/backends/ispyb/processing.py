"""Processing results of data collections: one ProcessingResult per (collection, AutoProcScaling).

AutoProcScaling_has_Int is many-to-many: data.sql's scaling 596147 (xia2 dials, two sweeps) links
integrations 592522 and 592523, both of collection 993677, so a naive join yields it twice. Here a
result is grouped to one row per (dataCollectionId, autoProcScalingId) before anything else joins.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.localtime import UTC_CLOCK, WallClock
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_SHELLS = {"overall": "overall", "innerShell": "inner", "outerShell": "outer"}


# Statistics columns of a shell, by label (AutoProcScalingStatistics); optional ones read NULL when absent.
_SHELL_COLUMNS = (
    ("resolution_low", "resolutionLimitLow"),
    ("resolution_high", "resolutionLimitHigh"),
    ("completeness", "completeness"),
    ("multiplicity", "multiplicity"),
    ("mean_i_over_sig_i", "meanIOverSigI"),
    ("cc_half", "ccHalf"),
    ("cc_anomalous", "ccAnomalous"),
    ("r_merge", "rMerge"),
    ("r_meas_all", "rMeasAllIPlusIMinus"),
    ("r_meas_within", "rMeasWithinIPlusIMinus"),
    ("r_pim_all", "rPimAllIPlusIMinus"),
    ("r_pim_within", "rPimWithinIPlusIMinus"),
    ("n_total_observations", "nTotalObservations"),
    ("n_total_unique", "nTotalUniqueObservations"),
    ("anomalous_completeness", "anomalousCompleteness"),
    ("anomalous_multiplicity", "anomalousMultiplicity"),
)
_CELL = ("a", "b", "c", "alpha", "beta", "gamma")


def results_sql(s: SchemaInfo, count: int) -> str:
    st = functools.partial(s.col, "st", "AutoProcScalingStatistics")
    ap = functools.partial(s.col, "ap", "AutoProc")
    app = functools.partial(s.col, "app", "AutoProcProgram")
    anomalous = "MAX(api.`anomalous`)" if s.has("AutoProcIntegration", "anomalous") else "NULL"
    cell = ", ".join(f"{ap(f'refinedCell_{x}')} AS cell_{x}" for x in _CELL)
    shell = ", ".join(f"{st(col)} AS {label}" for label, col in _SHELL_COLUMNS)
    return f"""
SELECT r.dc, r.sc, ap.`spaceGroup` AS space_group, {cell},
       {app("processingPrograms")} AS programs, app.`processingStatus` AS processing_status,
       {app("processingStartTime")} AS start_time, {app("processingEndTime")} AS end_time,
       r.anomalous, st.`scalingStatisticsType` AS shell_type, {shell}
FROM (
    SELECT api.`dataCollectionId` AS dc, shi.`autoProcScalingId` AS sc,
           MIN(api.`autoProcProgramId`) AS int_program, {anomalous} AS anomalous
    FROM AutoProcIntegration api
    JOIN AutoProcScaling_has_Int shi ON shi.`autoProcIntegrationId` = api.`autoProcIntegrationId`
    WHERE api.`dataCollectionId` IN ({id_list([0] * count)}) AND shi.`autoProcScalingId` IS NOT NULL
    GROUP BY api.`dataCollectionId`, shi.`autoProcScalingId`
) r
JOIN AutoProcScaling aps ON aps.`autoProcScalingId` = r.sc
LEFT JOIN AutoProc ap ON ap.`autoProcId` = aps.`autoProcId`
LEFT JOIN AutoProcProgram app ON app.`autoProcProgramId` = COALESCE(ap.`autoProcProgramId`, r.int_program)
LEFT JOIN AutoProcScalingStatistics st ON st.`autoProcScalingId` = r.sc
ORDER BY r.dc, r.sc, {st("autoProcScalingStatisticsId")}
"""


def best_result_join(s: SchemaInfo) -> str:
    """FROM/WHERE of successful results with an overall resolution, for one collection `dc`."""
    return """
FROM AutoProcIntegration bi
JOIN AutoProcScaling_has_Int bshi ON bshi.`autoProcIntegrationId` = bi.`autoProcIntegrationId`
JOIN AutoProcScaling baps ON baps.`autoProcScalingId` = bshi.`autoProcScalingId`
JOIN AutoProc bap ON bap.`autoProcId` = baps.`autoProcId`
JOIN AutoProcProgram bapp ON bapp.`autoProcProgramId` = COALESCE(bap.`autoProcProgramId`, bi.`autoProcProgramId`)
JOIN AutoProcScalingStatistics bst ON bst.`autoProcScalingId` = baps.`autoProcScalingId`
     AND bst.`scalingStatisticsType` = 'overall'
WHERE bi.`dataCollectionId` = dc.`dataCollectionId` AND bapp.`processingStatus` = 1
  AND bst.`resolutionLimitHigh` IS NOT NULL"""


def best_filters(
    s: SchemaInfo, resolution: float | None, space_group: str | None, cell: Any = None
) -> tuple[list[str], list[Any]]:
    """resolutionBetterThan and spaceGroup, both of the best result (smallest overall resolutionHigh);
    a unit cell within tolerance of any successful result (AutoProc.refinedCell_*)."""
    where: list[str] = []
    args: list[Any] = []
    if cell is not None:
        if not s.has("AutoProc", "refinedCell_a"):
            where.append("FALSE")
        else:
            close = []
            for name, v, tol in cell.bounds():
                close.append(f"ABS(bap.`refinedCell_{name}` - %s) <= %s")
                args += [v, tol + abs(v) * 1e-6]  # FLOAT columns: single-precision slack
            where.append(f"EXISTS (SELECT 1 {best_result_join(s)} AND {' AND '.join(close)})")
    if resolution is not None:
        # FLOAT columns: 1.45 is stored as 1.4500000477; the driver serves it as 1.45, so the
        # bound gets the same single-precision slack.
        where.append(f"EXISTS (SELECT 1 {best_result_join(s)} AND bst.`resolutionLimitHigh` <= %s)")
        args.append(resolution + abs(resolution) * 1e-6)
    if space_group is not None:
        where.append(
            f"(SELECT UPPER(REPLACE(bap.`spaceGroup`, ' ', '')) {best_result_join(s)}"
            " ORDER BY bst.`resolutionLimitHigh`, baps.`autoProcScalingId` LIMIT 1) = %s"
        )
        args.append(n.space_group_key(space_group))
    return where, args


def _shell(row: Mapping[str, Any], is_percent: bool) -> model.ShellStatistics:
    return model.ShellStatistics(
        resolution_low=n.number(row["resolution_low"]),
        resolution_high=n.number(row["resolution_high"]),
        completeness=n.number(row["completeness"]),
        multiplicity=n.number(row["multiplicity"]),
        mean_i_over_sig_i=n.number(row["mean_i_over_sig_i"]),
        cc_half=n.fraction(row["cc_half"], is_percent),
        cc_anomalous=n.fraction(row["cc_anomalous"], is_percent),
        r_merge=n.number(row["r_merge"]),
        r_meas=n.first_of(row["r_meas_all"], row["r_meas_within"]),
        r_pim=n.first_of(row["r_pim_all"], row["r_pim_within"]),
        n_total_observations=n.integer(row["n_total_observations"]),
        n_total_unique=n.integer(row["n_total_unique"]),
        anomalous_completeness=n.number(row["anomalous_completeness"]),
        anomalous_multiplicity=n.number(row["anomalous_multiplicity"]),
    )


def _result(dc: int, sc: int, group: list[dict[str, Any]], clock: WallClock) -> model.ProcessingResult:
    """One result from its rows of results_sql (one per statistics shell), read by column label."""
    head = group[0]
    program = n.program_name(head["programs"])
    shells: dict[str, dict[str, Any]] = {}
    for row in group:
        kind = _SHELLS.get(str(row["shell_type"])) if row["shell_type"] is not None else None
        if kind and kind not in shells:  # duplicates of one type: the lowest statistics id wins
            shells[kind] = row
    is_percent, note = n.cc_half_is_percent(program, [n.number(v["cc_half"]) for v in shells.values()])
    start, start_note = clock.stored(head["start_time"], "processingStartTime")
    end, end_note = clock.stored(head["end_time"], "processingEndTime")
    cell_values = [n.number(head[f"cell_{x}"]) for x in _CELL]
    cell = model.UnitCell(*cell_values) if all(v is not None for v in cell_values) else None  # type: ignore[arg-type]
    return model.ProcessingResult(
        local_id=str(sc),
        data_collection_local_id=str(dc),
        program=program,
        status=n.status(head["processing_status"], head["start_time"], head["end_time"]),
        space_group=n.text(head["space_group"]),
        cell=cell,
        overall=_shell(shells["overall"], is_percent) if "overall" in shells else None,
        inner=_shell(shells["inner"], is_percent) if "inner" in shells else None,
        outer=_shell(shells["outer"], is_percent) if "outer" in shells else None,
        start_time=start,
        end_time=end,
        anomalous=None if head["anomalous"] is None else bool(head["anomalous"]),
        provenance_notes=tuple(x for x in (note, start_note, end_note) if x),
    )


def build_results(
    rows: list[dict[str, Any]], clock: WallClock = UTC_CLOCK
) -> dict[str, list[model.ProcessingResult]]:
    """Group the rows of results_sql into one record per (collection, scaling), in scaling-id order."""
    grouped: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for row in rows:
        grouped.setdefault((int(row["dc"]), int(row["sc"])), []).append(row)
    out: dict[str, list[model.ProcessingResult]] = {}
    for (dc, sc), group in grouped.items():
        out.setdefault(str(dc), []).append(_result(dc, sc, group, clock))
    return out


async def by_collection(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.ProcessingResult]]:
    """Every collection asked for gets a list (empty when it has no processing); one query."""
    keys = int_ids(ids)
    out: dict[str, list[model.ProcessingResult]] = {str(i): [] for i in ids}
    if not keys:
        return out
    found = build_results(await db.fetch_rows(results_sql(s, len(keys)), keys), s.clock)
    for dc, results in found.items():
        out[dc] = results
    return out


async def by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.ProcessingResult]:
    """Results by their local id (autoProcScalingId), for node(id): the collections they belong to first,
    then the same grouping as by_collection. A scaling of two collections is answered for the first."""
    keys = int_ids(ids)
    if not keys:
        return {}
    rows = await db.fetch_rows(
        "SELECT DISTINCT api.`dataCollectionId` AS dc, shi.`autoProcScalingId` AS sc FROM AutoProcIntegration api"
        " JOIN AutoProcScaling_has_Int shi ON shi.`autoProcIntegrationId` = api.`autoProcIntegrationId`"
        f" WHERE shi.`autoProcScalingId` IN ({id_list(keys)})",
        keys,
    )
    collections = sorted({int(r["dc"]) for r in rows if r["dc"] is not None})
    out: dict[str, model.ProcessingResult] = {}
    if not collections:
        return out
    fetched = await db.fetch_rows(results_sql(s, len(collections)), collections)
    for results in build_results(fetched, s.clock).values():
        for r in results:
            if r.local_id in {str(k) for k in keys}:
                out.setdefault(r.local_id, r)
    return out
