"""dataCollectionFacets at an ISPyB site (since 1.2.0, docs/facets.md): always EXACT, and equal to SQL's
GROUP BY over Diamond's fixture, written here in ISPyB's own terms (a collection's session and sample
through its group, the legacy sample column when the group has none)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import asyncmy
import pytest

from site_adapter.backends.base import CountKind, FacetField, InvalidInput
from site_adapter.backends.base import DataCollectionFilter as F
from tests.fixtures.mariadb import connect_kwargs

FROM = """FROM DataCollection dc
  JOIN DataCollectionGroup g ON g.dataCollectionGroupId = dc.dataCollectionGroupId
  LEFT JOIN BLSession s ON s.sessionId = g.sessionId
  LEFT JOIN BLSample b ON b.blSampleId = COALESCE(g.blSampleId, dc.BLSAMPLEID)
  LEFT JOIN Crystal c ON c.crystalId = b.crystalId
  LEFT JOIN Protein p ON p.proteinId = c.proteinId"""
COLUMNS = {
    FacetField.BEAMLINE: "s.beamLineName",
    FacetField.EXPERIMENT_TYPE: "CAST(COALESCE(g.experimentType, dc.experimenttype) AS BINARY)",
    FacetField.PROTEIN: "CAST(p.acronym AS BINARY)",
}
CASES: list[tuple[F, str]] = [
    (F(), "TRUE"),
    (F(beamline="i03"), "s.beamLineName = 'i03'"),
    (F(sample_name="tlys_jan_4"), "b.name = 'tlys_jan_4'"),
]


async def _sql(dsn: str, sql: str) -> list[dict[str, Any]]:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(sql)
            return list(await cur.fetchall())
    finally:
        conn.close()


def _text(v: Any) -> str | None:
    return v.decode() if isinstance(v, bytes) else v


def ordered(counts: dict[str | None, int], first: int) -> list[tuple[str | None, int]]:
    """docs/facets.md's order, written for the test: count descending, value by code point, null last."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0] is None, [ord(c) for c in kv[0] or ""]))
    return items[:first]


@pytest.mark.parametrize("f,cond", CASES)
async def test_facets_equal_sql_group_by(ispyb, ispyb_dsn, f, cond):
    total = int((await _sql(ispyb_dsn, f"SELECT COUNT(*) AS n {FROM} WHERE {cond}"))[0]["n"])
    assert total > 0
    for first in (10, 1):
        found = await ispyb.data_collection_facets(f, list(FacetField), first)
        assert [fc.field for fc in found] == list(FacetField)
        by_field = {fc.field: fc for fc in found}
        for field, expr in COLUMNS.items():
            rows = await _sql(ispyb_dsn, f"SELECT {expr} AS v, COUNT(*) AS n {FROM} WHERE {cond} GROUP BY 1")
            want = ordered({_text(r["v"]): int(r["n"]) for r in rows}, first)
            assert [(v.value, v.count) for v in by_field[field].values] == want, (f, field, first)
        assert all(v.kind is CountKind.EXACT for fc in found for v in fc.values)
    # every collection has one space group or none: all of them listed add up to the matches
    (space_groups,) = await ispyb.data_collection_facets(f, [FacetField.SPACE_GROUP], 100)
    assert sum(v.count for v in space_groups.values) == total


async def test_a_filter_with_no_match_has_no_values(ispyb):
    found = await ispyb.data_collection_facets(F(beamline="no-such-beamline"), list(FacetField), 10)
    assert all(fc.values == () for fc in found)


async def test_a_negative_first_is_refused(ispyb):
    with pytest.raises(InvalidInput):
        await ispyb.data_collection_facets(F(), [FacetField.BEAMLINE], -1)
