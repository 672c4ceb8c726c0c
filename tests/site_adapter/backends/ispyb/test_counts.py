"""Honest counts at an ISPyB site (issue 17): the ISPyB backend counts every match (the fixture is small,
and so are a facility's per-filter counts next to a 1M-row native store), so every page says EXACT, and
its count is ISPyB's own: SQL over the fixture's tables, written here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import asyncmy
import pytest

from site_adapter.backends.base import CountKind, PageRequest, ProposalFilter, SampleFilter, SessionFilter
from site_adapter.backends.base import DataCollectionFilter as F
from tests.fixtures.mariadb import connect_kwargs

# Each filter, and its count in ISPyB's own terms (a collection's session through its group: the fixture
# has SESSIONID 0 rows, docs/ispyb.md).
CASES: list[tuple[F, str]] = [
    (F(), "SELECT COUNT(*) AS n FROM DataCollection"),
    (
        F(beamline="i03"),
        "SELECT COUNT(*) AS n FROM DataCollection dc JOIN DataCollectionGroup g"
        " ON g.dataCollectionGroupId = dc.dataCollectionGroupId JOIN BLSession s ON s.sessionId = g.sessionId"
        " WHERE s.beamLineName = 'i03'",
    ),
    (
        F(sample_name="tlys_jan_4"),
        "SELECT COUNT(*) AS n FROM DataCollection dc JOIN DataCollectionGroup g"
        " ON g.dataCollectionGroupId = dc.dataCollectionGroupId JOIN BLSample b ON b.blSampleId = g.blSampleId"
        " WHERE b.name = 'tlys_jan_4'",
    ),
]


async def _count(dsn: str, sql: str) -> int:
    conn = await asyncmy.connect(**connect_kwargs(dsn), db=urlsplit(dsn).path.lstrip("/"))
    try:
        async with conn.cursor(asyncmy.cursors.DictCursor) as cur:
            await cur.execute(sql)
            row: dict[str, Any] = await cur.fetchone()
            return int(row["n"])
    finally:
        conn.close()


@pytest.mark.parametrize("f,sql", CASES)
async def test_data_collection_counts_are_exact(ispyb, ispyb_dsn, f, sql):
    page = await ispyb.data_collections(f, PageRequest(first=1))
    want = await _count(ispyb_dsn, sql)
    assert (page.total_count, page.count_kind) == (want, CountKind.EXACT)
    assert want > 0


async def test_other_connections_count_exactly(ispyb, ispyb_dsn):
    for method, f, sql in [
        (ispyb.samples, SampleFilter(), "SELECT COUNT(*) AS n FROM BLSample"),
        (ispyb.sessions, SessionFilter(), "SELECT COUNT(*) AS n FROM BLSession"),
        (ispyb.proposals, ProposalFilter(), "SELECT COUNT(*) AS n FROM Proposal"),
    ]:
        page = await method(f, PageRequest(first=1))
        assert page.count_kind is CountKind.EXACT
        assert page.total_count == await _count(ispyb_dsn, sql) > 0
