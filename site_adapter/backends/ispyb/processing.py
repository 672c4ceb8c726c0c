"""Processing results of data collections: one ProcessingResult per (collection, AutoProcScaling).

AutoProcScaling_has_Int is many-to-many: data.sql's scaling 596147 (xia2 dials, two sweeps) links
integrations 592522 and 592523, both of collection 993677, so a naive join yields it twice. Here a
result is grouped to one row per (dataCollectionId, autoProcScalingId) before anything else joins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from site_adapter import model
from site_adapter.backends.ispyb import normalise as n
from site_adapter.backends.ispyb.keyset import id_list, int_ids
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_SHELLS = {"overall": "overall", "innerShell": "inner", "outerShell": "outer"}


def results_sql(s: SchemaInfo, count: int) -> str:
    st = lambda c: s.col("st", "AutoProcScalingStatistics", c)  # noqa: E731
    ap = lambda c: s.col("ap", "AutoProc", c)  # noqa: E731
    app = lambda c: s.col("app", "AutoProcProgram", c)  # noqa: E731
    anomalous = "MAX(api.`anomalous`)" if s.has("AutoProcIntegration", "anomalous") else "NULL"
    return f"""
SELECT r.dc, r.sc, ap.`spaceGroup`,
       {ap("refinedCell_a")}, {ap("refinedCell_b")}, {ap("refinedCell_c")},
       {ap("refinedCell_alpha")}, {ap("refinedCell_beta")}, {ap("refinedCell_gamma")},
       {app("processingPrograms")}, app.`processingStatus`, {app("processingStartTime")}, {app("processingEndTime")},
       r.anomalous, st.`scalingStatisticsType`, st.`resolutionLimitLow`, st.`resolutionLimitHigh`,
       st.`completeness`, st.`multiplicity`, st.`meanIOverSigI`, {st("ccHalf")}, {st("ccAnomalous")},
       {st("rMerge")}, {st("rMeasAllIPlusIMinus")}, {st("rMeasWithinIPlusIMinus")},
       {st("rPimAllIPlusIMinus")}, {st("rPimWithinIPlusIMinus")},
       {st("nTotalObservations")}, {st("nTotalUniqueObservations")},
       {st("anomalousCompleteness")}, {st("anomalousMultiplicity")}, {st("autoProcScalingStatisticsId")}
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


def _shell(row: Sequence[Any], is_percent: bool) -> model.ShellStatistics:
    (
        lo,
        hi,
        completeness,
        multiplicity,
        isig,
        cc_half,
        cc_ano,
        r_merge,
        r_meas_all,
        r_meas_within,
        r_pim_all,
        r_pim_within,
        n_obs,
        n_unique,
        ano_compl,
        ano_mult,
    ) = row
    return model.ShellStatistics(
        resolution_low=n.number(lo),
        resolution_high=n.number(hi),
        completeness=n.number(completeness),
        multiplicity=n.number(multiplicity),
        mean_i_over_sig_i=n.number(isig),
        cc_half=n.fraction(cc_half, is_percent),
        cc_anomalous=n.fraction(cc_ano, is_percent),
        r_merge=n.number(r_merge),
        r_meas=n.first_of(r_meas_all, r_meas_within),
        r_pim=n.first_of(r_pim_all, r_pim_within),
        n_total_observations=n.integer(n_obs),
        n_total_unique=n.integer(n_unique),
        anomalous_completeness=n.number(ano_compl),
        anomalous_multiplicity=n.number(ano_mult),
    )


def build_results(rows: list[tuple]) -> dict[str, list[model.ProcessingResult]]:
    """Group the rows of results_sql into one record per (collection, scaling), in scaling-id order."""
    grouped: dict[tuple[int, int], list[tuple]] = {}
    for row in rows:
        grouped.setdefault((int(row[0]), int(row[1])), []).append(row)
    out: dict[str, list[model.ProcessingResult]] = {}
    for (dc, sc), group in grouped.items():
        head = group[0]
        program = n.program_name(head[9])
        shells: dict[str, tuple] = {}
        for row in group:
            kind = _SHELLS.get(str(row[14])) if row[14] is not None else None
            if kind and kind not in shells:  # duplicates of one type: the lowest statistics id wins
                shells[kind] = tuple(row[15:31])
        cc_values = [n.number(v[5]) for v in shells.values()]
        is_percent, note = n.cc_half_is_percent(program, cc_values)
        cell_values = [n.number(v) for v in head[3:9]]
        cell = model.UnitCell(*cell_values) if all(v is not None for v in cell_values) else None  # type: ignore[arg-type]
        notes = tuple(x for x in (note,) if x)
        out.setdefault(str(dc), []).append(
            model.ProcessingResult(
                local_id=str(sc),
                data_collection_local_id=str(dc),
                program=program,
                status=n.status(head[10], head[11], head[12]),
                space_group=n.text(head[2]),
                cell=cell,
                overall=_shell(shells["overall"], is_percent) if "overall" in shells else None,
                inner=_shell(shells["inner"], is_percent) if "inner" in shells else None,
                outer=_shell(shells["outer"], is_percent) if "outer" in shells else None,
                start_time=n.date(head[11]),
                end_time=n.date(head[12]),
                anomalous=None if head[13] is None else bool(head[13]),
                provenance_notes=notes,
            )
        )
    return out


async def by_collection(
    db: Any, s: SchemaInfo, ids: Sequence[str]
) -> dict[str, list[model.ProcessingResult]]:
    """Every collection asked for gets a list (empty when it has no processing); one query."""
    keys = int_ids(ids)
    out: dict[str, list[model.ProcessingResult]] = {str(i): [] for i in ids}
    if not keys:
        return out
    found = build_results(await db.fetch(results_sql(s, len(keys)), keys))
    for dc, results in found.items():
        out[dc] = results
    return out


async def by_id(db: Any, s: SchemaInfo, ids: Sequence[str]) -> dict[str, model.ProcessingResult]:
    """Results by their local id (autoProcScalingId), for node(id): the collections they belong to first,
    then the same grouping as by_collection. A scaling of two collections is answered for the first."""
    keys = int_ids(ids)
    if not keys:
        return {}
    rows = await db.fetch(
        "SELECT DISTINCT api.`dataCollectionId`, shi.`autoProcScalingId` FROM AutoProcIntegration api"
        " JOIN AutoProcScaling_has_Int shi ON shi.`autoProcIntegrationId` = api.`autoProcIntegrationId`"
        f" WHERE shi.`autoProcScalingId` IN ({id_list(keys)})",
        keys,
    )
    collections = sorted({int(r[0]) for r in rows if r[0] is not None})
    out: dict[str, model.ProcessingResult] = {}
    if not collections:
        return out
    for results in build_results(await db.fetch(results_sql(s, len(collections)), collections)).values():
        for r in results:
            if r.local_id in {str(k) for k in keys}:
                out.setdefault(r.local_id, r)
    return out
