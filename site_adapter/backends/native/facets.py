"""dataCollectionFacets of the native store (since 1.2.0, docs/facets.md): a filter's matches counted by
beamline, experiment type, space group and protein, in the budget of a page's totalCount (issue 17).

The WHERE is the page's own (queries.data_collection_where: the access rule and every term), and so is
the decision between exact and estimated (counting.count, with the store's cap and cost):
- EXACT: one GROUP BY per asked field over the matches, read once (a MATERIALIZED CTE);
- ESTIMATE: the same statement over a block sample of the table (TABLESAMPLE SYSTEM, REPEATABLE so the
  same store and filter give the same answer), each value's share of the sampled matches scaled to the
  count's estimate. A value the sample missed is absent; every value says ESTIMATE. Builds and runs
  statements only; what a term means is queries.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from site_adapter import query
from site_adapter.backends.base import (
    CountKind,
    DataCollectionFilter,
    FacetCounts,
    FacetField,
    FacetValue,
    top_values,
)
from site_adapter.backends.native import counting
from site_adapter.backends.native import queries as q

# Each field as a column of the matches: the value its filter term compares (queries._DC_TERMS), so a
# facet value set as that term selects exactly what it counted.
_VALUES: dict[FacetField, str] = {
    FacetField.BEAMLINE: "dc.beamline",
    FacetField.EXPERIMENT_TYPE: "dc.experiment_type",
    FacetField.SPACE_GROUP: "upper(replace(dc.best_space_group, ' ', ''))",
    FacetField.PROTEIN: "fp.acronym",  # joined only when asked (_PROTEIN_JOIN)
}

_PROTEIN_JOIN = " LEFT JOIN protein fp ON fp.id = dc.protein_id"

# Rows a sample reads (about; SYSTEM samples whole blocks): at 1M collections 10,000 rows are ~1,800
# blocks, 15-30 ms on a 2-core machine (bench/bench_counts.py --facets).
SAMPLE_ROWS = 10_000


def facet_sql(fields: Sequence[FacetField], where_sql: str, sample_pct: float | None, first: str) -> str:
    """One statement: per field, its values and their counts among the matches (of a sample of
    `sample_pct` % of the table's blocks when given), the `first` most frequent of each."""
    columns = ", ".join(f"{_VALUES[f]} AS {f.value}" for f in fields)
    sample = f" TABLESAMPLE SYSTEM ({float(sample_pct)!r}) REPEATABLE (17)" if sample_pct is not None else ""
    join = _PROTEIN_JOIN if FacetField.PROTEIN in fields else ""
    groups = " UNION ALL ".join(
        f"SELECT '{f.name}' AS field, m.{f.value}::text AS value, count(*) AS n FROM m GROUP BY 2"
        for f in fields
    )
    return (
        f"WITH m AS MATERIALIZED (SELECT {columns} FROM data_collection dc{sample}{join}{where_sql}),"
        " total AS (SELECT count(*) AS n FROM m)"
        " SELECT g.field, g.value, g.n, (SELECT n FROM total) AS matched FROM ("
        f'SELECT x.*, row_number() OVER (PARTITION BY x.field ORDER BY x.n DESC, x.value COLLATE "C" NULLS LAST)'
        f" AS r FROM ({groups}) x) g WHERE g.r <= {first}"
    )


async def data_collection_facets(
    fetch: counting.Fetch,
    fetch_within: counting.FetchWithin,
    f: DataCollectionFilter,
    fields: Sequence[FacetField],
    first: int,
    limit: int,
    max_cost: float,
) -> list[FacetCounts]:
    wanted = list(dict.fromkeys(fields))
    if not wanted:
        return []
    p = q.Params()
    spec = query.spec("data_collection", f, first, None)
    where = q.where_sql(q.data_collection_where(spec, f, p))
    c = await counting.count(fetch, fetch_within, "data_collection dc", where, p.values, limit, max_cost)
    top = p.add(first)
    if c.kind is CountKind.EXACT:
        if c.total == 0 or first == 0:
            return [FacetCounts(fld, ()) for fld in wanted]
        rows = await fetch(facet_sql(wanted, where, None, top), *p.values)
        return _facets(wanted, rows, first, 1.0, CountKind.EXACT)
    pct = await _sample_pct(fetch)
    rows = await fetch(facet_sql(wanted, where, pct, top), *p.values)
    if pct is None:  # too costly to count, yet the table is small enough to read whole: counted
        return _facets(wanted, rows, first, 1.0, CountKind.EXACT)
    matched = int(rows[0]["matched"]) if rows else 0
    # Each sampled match stands for total / matched of the filter's matches (c.total: the count's
    # estimate, never below the matches it saw).
    scale = c.total / matched if matched else 0.0
    return _facets(wanted, rows, first, scale, CountKind.ESTIMATE)


async def _sample_pct(fetch: counting.Fetch) -> float | None:
    """The share of the table (percent) that holds about SAMPLE_ROWS rows; None (no sample, every row)
    when the table is that small, or never analysed (reltuples -1: PostgreSQL 14+)."""
    rows = await fetch("SELECT reltuples FROM pg_class WHERE oid = 'data_collection'::regclass")
    tuples = float(rows[0]["reltuples"]) if rows else -1.0
    if tuples <= SAMPLE_ROWS:
        return None
    return 100.0 * SAMPLE_ROWS / tuples


def _facets(
    fields: list[FacetField], rows: Sequence[Any], first: int, scale: float, kind: CountKind
) -> list[FacetCounts]:
    found: dict[str, list[FacetValue]] = {fld.name: [] for fld in fields}
    for r in rows:
        n = int(r["n"]) if kind is CountKind.EXACT else max(1, round(int(r["n"]) * scale))
        found[r["field"]].append(FacetValue(r["value"], n, kind))
    return [FacetCounts(fld, top_values(found[fld.name], first)) for fld in fields]
