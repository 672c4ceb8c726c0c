"""A page read filter-first (backends/native/backend.py fenced_sql, used when a count finds few matches
while the page statement still walks its ordering index) returns exactly the rows of the page's own
statement: the same filters, orders and keyset positions, compared on the store itself."""

from __future__ import annotations

from typing import Any

import asyncpg

from mx_schema.cursors import sort_order
from site_adapter.backends.base import DataCollectionFilter, PageRequest
from site_adapter.backends.native import NativeBackend
from site_adapter.backends.native.backend import _DC_FENCE, fenced_sql


async def _page_statement(
    backend: NativeBackend, f: DataCollectionFilter, page: PageRequest
) -> tuple[str, tuple]:
    """The page's own statement and arguments, as the backend sends them (the one with ORDER BY)."""
    seen: list[tuple[str, tuple]] = []
    fetch = backend._fetch

    async def spy(sql: str, *args: Any) -> Any:
        seen.append((sql, args))
        return await fetch(sql, *args)

    backend._fetch = spy  # type: ignore[method-assign]
    try:
        await backend.data_collections(f, page)
    finally:
        backend._fetch = fetch  # type: ignore[method-assign]
    pages = [(sql, args) for sql, args in seen if " ORDER BY " in sql and "count(" not in sql]
    return pages[0]


async def test_filter_first_reads_the_same_rows_as_the_page(esrf_backend, esrf_demo_dsn):
    conn = await asyncpg.connect(esrf_demo_dsn)
    try:
        sample, acronym = await conn.fetchrow(
            "SELECT s.name, p.acronym FROM data_collection dc JOIN sample s ON s.id = dc.sample_id "
            "JOIN protein p ON p.id = dc.protein_id WHERE dc.best_resolution IS NOT NULL "
            "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
        )
        filters = [
            DataCollectionFilter(sample_name=sample),
            DataCollectionFilter(protein_acronym=acronym, resolution_better_than=2.0),
            DataCollectionFilter(beamline="id29"),
            DataCollectionFilter(),
        ]
        orders = [None, sort_order("RESOLUTION", False), sort_order("COMPLETENESS", True)]
        compared = 0
        for f in filters:
            for order in orders:
                first = await esrf_backend.data_collections(f, PageRequest(first=3, order=order))
                after = first.items[-1][0] if first.items else None
                for page in (
                    PageRequest(first=7, order=order),
                    PageRequest(first=7, after=after, order=order),
                ):
                    sql, args = await _page_statement(esrf_backend, f, page)
                    head, _, tail = sql.partition(" ORDER BY ")
                    order_sql, _, limit = tail.rpartition(" LIMIT ")
                    _, _, where_sql = head.partition(" FROM data_collection dc")
                    own = await conn.fetch(sql, *args)
                    fenced = await conn.fetch(fenced_sql(_DC_FENCE, where_sql, order_sql, limit), *args)
                    assert [dict(r) for r in fenced] == [dict(r) for r in own], (f, order, page.after)
                    compared += len(own)
        assert compared > 50  # the comparisons saw rows, not only empty pages
    finally:
        await conn.close()
