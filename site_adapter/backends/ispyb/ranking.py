"""dataCollections(orderBy:) on ISPyB: collections ranked by start time or by a statistic of their best
processing result, one keyset page at a time.

"Best" is computed in SQL exactly as site_adapter.graphql.types.best_of picks it from what
processing.results_sql reads: one result per (collection, AutoProcScaling), its program the AutoProc's
else the lowest of its integrations', successful when processingStatus is 1, its overall shell the
lowest-id 'overall' statistics row; the smallest overall resolutionLimitHigh wins, ties by the lowest
autoProcScalingId. ISPyB gives no place for an index of our own, so a page ranks every matching
collection (fine for a facility's filters; docs/ordering.md says so). Builds SQL, runs it, no records.
"""

from __future__ import annotations

import struct
from typing import Any

from mx_schema.cursors import time_key
from site_adapter import model, query
from site_adapter.backends.base import DataCollectionFilter, InvalidInput, Page, PageRequest, SortKey
from site_adapter.backends.ispyb import collections
from site_adapter.backends.ispyb.keyset import nulls_last_order, time_asc_after, value_after
from site_adapter.backends.ispyb.schema_check import SchemaInfo
from site_adapter.query import Metric, Sort

# The lowest-id statistics row of one type for scaling r.sc (processing._result keeps the first of each).
_SHELL = (
    "(SELECT MIN(x.`autoProcScalingStatisticsId`) FROM AutoProcScalingStatistics x"
    " WHERE x.`autoProcScalingId` = r.sc AND x.`scalingStatisticsType` = '{}')"
)
# normalise.cc_half_is_percent: fast_dp writes CC½ in percent, and so does any result with a shell above 1.
_PERCENT = (
    "(LOWER(SUBSTRING_INDEX(TRIM(app.`processingPrograms`), ' ', 1)) = 'fast_dp'"
    " OR EXISTS (SELECT 1 FROM AutoProcScalingStatistics y WHERE y.`ccHalf` > 1 AND y.`autoProcScalingStatisticsId`"
    f" IN ({_SHELL.format('overall')}, {_SHELL.format('innerShell')}, {_SHELL.format('outerShell')})))"
)
# Each metric as the best result's column; CC½ as normalise.fraction serves it (a fraction, 6 decimals).
_METRIC_SQL: dict[Metric, str] = {
    Metric.RESOLUTION: "st.`resolutionLimitHigh`",
    Metric.COMPLETENESS: "st.`completeness`",
    Metric.I_OVER_SIGMA: "st.`meanIOverSigI`",
    Metric.CC_HALF: f"ROUND(CASE WHEN {_PERCENT} THEN st.`ccHalf` / 100 ELSE st.`ccHalf` END, 6)",
}
# FLOAT columns (tables.sql): the driver serves 1.45 for the stored 1.4500000477; a position is compared
# with the single-precision value it was read from.
_SINGLE = {Metric.RESOLUTION, Metric.COMPLETENESS, Metric.I_OVER_SIGMA}


def best_sql(metric: Metric) -> str:
    """SELECT dc, k: each collection's best result and its value of `metric` (collections without a
    successful result with an overall resolution are absent)."""
    return f"""
SELECT b.dc, b.k FROM (
    SELECT r.dc, {_METRIC_SQL[metric]} AS k,
           ROW_NUMBER() OVER (PARTITION BY r.dc ORDER BY st.`resolutionLimitHigh`, r.sc) AS rn
    FROM (
        SELECT api.`dataCollectionId` AS dc, shi.`autoProcScalingId` AS sc,
               MIN(api.`autoProcProgramId`) AS int_program
        FROM AutoProcIntegration api
        JOIN AutoProcScaling_has_Int shi ON shi.`autoProcIntegrationId` = api.`autoProcIntegrationId`
        WHERE shi.`autoProcScalingId` IS NOT NULL
        GROUP BY api.`dataCollectionId`, shi.`autoProcScalingId`
    ) r
    JOIN AutoProcScaling aps ON aps.`autoProcScalingId` = r.sc
    LEFT JOIN AutoProc ap ON ap.`autoProcId` = aps.`autoProcId`
    JOIN AutoProcProgram app ON app.`autoProcProgramId` = COALESCE(ap.`autoProcProgramId`, r.int_program)
    JOIN AutoProcScalingStatistics st ON st.`autoProcScalingStatisticsId` = {_SHELL.format("overall")}
    WHERE app.`processingStatus` = 1 AND st.`resolutionLimitHigh` IS NOT NULL
) b WHERE b.rn = 1"""


def single(value: float) -> float:
    """The single-precision value a FLOAT column holds for the `value` the driver served."""
    converted: float = struct.unpack("f", struct.pack("f", value))[0]
    return converted


def served(value: Any, metric: Metric) -> float | None:
    """A metric as the GraphQL field serves it: FLOATs to their 6 significant digits."""
    if value is None:
        return None
    return float(f"{float(value):.6g}") if metric in _SINGLE else float(value)


def _ranked_sql(sort: Sort, matched: str) -> tuple[str, str]:
    """FROM of the ranked collections (columns id, k) and the ORDER BY of `sort`."""
    if sort.metric is Metric.START_TIME:
        return f"(SELECT m.id, m.t AS k FROM ({matched}) m)", nulls_last_order("w.k", "w.id", sort.descending)
    return (
        f"(SELECT m.id, best.k FROM ({matched}) m LEFT JOIN ({best_sql(sort.metric)}) best ON best.dc = m.id)",
        nulls_last_order("w.k", "w.id", sort.descending),
    )


async def page(
    db: Any, s: SchemaInfo, f: DataCollectionFilter, req: PageRequest
) -> Page[model.DataCollection]:
    """One page in `req.order`: ranked ids with a window count, then hydration (2 statements)."""
    if req.first < 0:
        raise InvalidInput("first must not be negative")
    spec = query.spec("data_collection", f, req.first, req.after, req.order)
    sort = spec.sort
    if sort is None:
        return await collections.page(db, s, f, req)
    found = collections.matching(s, spec, f)
    if found is None:
        return Page(items=[], has_next_page=False, total_count=0)
    matched, args = found
    ranked, order = _ranked_sql(sort, matched)
    if sort.metric is Metric.START_TIME:
        after_sql, after_args = time_asc_after("w.k", "w.id", spec.after, s.clock)
    else:
        at = spec.after
        bound = single(at.value) if at and isinstance(at.value, float) and sort.metric in _SINGLE else None
        after_sql, after_args = value_after("w.k", "w.id", at, sort.descending, bound)
    rows = await db.fetch_rows(
        f"SELECT w.id, w.k, w.total FROM (SELECT r.id, r.k, COUNT(*) OVER () AS total FROM {ranked} r) w"
        f" WHERE {after_sql} ORDER BY {order} LIMIT %s",
        args + after_args + [req.first + 1],
    )
    if rows:
        total = int(rows[0]["total"])
    else:
        count = await db.fetch_rows(f"SELECT COUNT(*) AS n FROM ({matched}) m", args)
        total = int(count[0]["n"])
    kept = rows[: req.first]
    records = await collections.by_id(db, s, [str(r["id"]) for r in kept])
    items: list[tuple[SortKey, model.DataCollection]] = []
    for r in kept:
        record = records.get(str(r["id"]))
        if record is None:
            continue
        if sort.metric is Metric.START_TIME:
            key: SortKey = (time_key(record.start_time), int(record.local_id))
        else:
            key = (served(r["k"], sort.metric), int(r["id"]))
        items.append((key, record))
    return Page(items=items, has_next_page=len(rows) > req.first, total_count=total)
