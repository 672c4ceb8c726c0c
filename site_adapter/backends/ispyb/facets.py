"""dataCollectionFacets of an ISPyB (since 1.2.0, docs/facets.md): a filter's matches counted by beamline,
experiment type, space group and protein, always exactly (an ISPyB behind a site is small next to the
1M-collection native store the count budget is for).

The matches are the page's own (collections.matching: the access rule and every term); each field is
read through the columns its filter term compares (allow-listed here), so a facet value set as that
term selects what it counted. One GROUP BY per asked field.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from site_adapter import query
from site_adapter.backends.base import (
    CountKind,
    DataCollectionFilter,
    FacetCounts,
    FacetField,
    FacetValue,
    InvalidInput,
    top_values,
)
from site_adapter.backends.ispyb import collections
from site_adapter.backends.ispyb.processing import best_result_join
from site_adapter.backends.ispyb.schema_check import SchemaInfo

_GROUP = " JOIN DataCollectionGroup dcg ON dcg.`dataCollectionGroupId` = dc.`dataCollectionGroupId`"


def _beamline(s: SchemaInfo) -> tuple[str, str]:
    # The term `beamline`: BLSession.beamLineName (terms.SESSION).
    return "ses.`beamLineName`", " LEFT JOIN BLSession ses ON ses.`sessionId` = dcg.`sessionId`"


def _experiment_type(s: SchemaInfo) -> tuple[str, str]:
    # The term `experimentType`: the group's, else the legacy column (collections._experiment_type).
    group, legacy = (
        s.col("dcg", "DataCollectionGroup", "experimentType"),
        s.col("dc", "DataCollection", "experimenttype"),
    )
    return _binary(f"COALESCE({group}, {legacy})"), ""


def _space_group(s: SchemaInfo) -> tuple[str, str]:
    # The term `spaceGroup`: the best result's, spaces removed, upper case (processing.best_filters).
    return (
        f"(SELECT UPPER(REPLACE(bap.`spaceGroup`, ' ', '')) {best_result_join(s)}"
        " ORDER BY bst.`resolutionLimitHigh`, baps.`autoProcScalingId` LIMIT 1)",
        "",
    )


def _protein(s: SchemaInfo) -> tuple[str, str]:
    # The term `proteinAcronym`: the acronym of the sample's crystal's protein; the sample is the group's,
    # else the legacy DataCollection.BLSAMPLEID (collections.matching_sql's two branches).
    legacy = s.col("dc", "DataCollection", "BLSAMPLEID")
    return (
        _binary("pr.`acronym`"),
        f" LEFT JOIN BLSample bs ON bs.`blSampleId` = COALESCE(dcg.`blSampleId`, {legacy})"
        " LEFT JOIN Crystal c ON c.`crystalId` = bs.`crystalId`"
        " LEFT JOIN Protein pr ON pr.`proteinId` = c.`proteinId`",
    )


def _binary(column: str) -> str:
    """Grouped as the exact terms compare (collections.binary_equals): by code point, not under
    latin1_swedish_ci, which would count `Lyso` and `LYSO` as one."""
    return f"(CONVERT({column} USING utf8mb4) COLLATE utf8mb4_bin)"


# Per field: its value expression and the joins it needs beyond DataCollection dc and its group dcg.
_FIELDS: dict[FacetField, Callable[[SchemaInfo], tuple[str, str]]] = {
    FacetField.BEAMLINE: _beamline,
    FacetField.EXPERIMENT_TYPE: _experiment_type,
    FacetField.SPACE_GROUP: _space_group,
    FacetField.PROTEIN: _protein,
}


def facet_sql(s: SchemaInfo, field: FacetField, matching_sql: str) -> str:
    value, joins = _FIELDS[field](s)
    return (
        f"SELECT {value} AS v, COUNT(*) AS n FROM ({matching_sql}) m"
        f" JOIN DataCollection dc ON dc.`dataCollectionId` = m.id{_GROUP}{joins} GROUP BY v"
    )


async def data_collection_facets(
    db: Any, s: SchemaInfo, f: DataCollectionFilter, fields: Sequence[FacetField], first: int
) -> list[FacetCounts]:
    if first < 0:
        raise InvalidInput("first must not be negative")
    wanted = list(dict.fromkeys(fields))
    found = collections.matching(s, query.spec("data_collection", f, first, None), f)
    out = []
    for field in wanted:
        rows = (
            []
            if found is None or first == 0
            else await db.fetch_rows(facet_sql(s, field, found[0]), found[1])
        )
        values = [FacetValue(_text(r["v"]), int(r["n"]), CountKind.EXACT) for r in rows]
        out.append(FacetCounts(field, top_values(_merged(values), first)))
    return out


def _text(v: Any) -> str | None:
    if v is None:
        return None
    return v.decode() if isinstance(v, bytes | bytearray) else str(v)


def _merged(values: list[FacetValue]) -> list[FacetValue]:
    """Values MariaDB grouped apart under a binary collation but that read the same are one."""
    counts: dict[str | None, int] = {}
    for v in values:
        counts[v.value] = counts.get(v.value, 0) + v.count
    return [FacetValue(k, n, CountKind.EXACT) for k, n in counts.items()]
