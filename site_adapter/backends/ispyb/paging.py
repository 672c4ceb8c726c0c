"""One keyset page of a simple root connection: a count and one ordered, limited SELECT.

Used by sessions, proposals, samples and proteins; data collections page through collections.py.
It runs the SQL it is given and builds no records itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from site_adapter import access
from site_adapter.backends.base import InvalidInput, Page, PageRequest, SortKey
from site_adapter.backends.ispyb.keyset import (
    text_asc_after,
    text_asc_order,
    time_desc_after,
    time_desc_order,
)
from site_adapter.backends.ispyb.localtime import UTC_CLOCK, WallClock

T = TypeVar("T")


async def keyset_page(
    db: Any,
    *,
    columns: str,
    from_where: str,
    args: list[Any],
    key: str,
    key_kind: str,
    id_col: str,
    req: PageRequest,
    build: Callable[[dict[str, Any]], T],
    sort_key: Callable[[T], SortKey],
    clock: WallClock = UTC_CLOCK,
) -> Page[T]:
    """`key_kind` is "time" (descending, nulls last; the column holds `clock`'s wall times) or "text"
    (ascending, code point); `columns` are labelled, and `build` reads a row by those labels."""
    if req.first < 0:
        raise InvalidInput("first must not be negative")
    total = int((await db.fetch_rows(f"SELECT COUNT(*) AS n {from_where}", args))[0]["n"])
    if req.first == 0 or total == 0:
        return Page(items=[], has_next_page=total > 0 and req.first == 0, total_count=total)
    if key_kind == "time":
        after_sql, after_args = time_desc_after(key, id_col, req.after, clock)
        order = time_desc_order(key, id_col)
    else:
        after_sql, after_args = text_asc_after(key, id_col, req.after)
        order = text_asc_order(key, id_col)
    rows = await db.fetch_rows(
        f"SELECT {columns} {from_where} AND {after_sql} ORDER BY {order} LIMIT %s",
        args + after_args + [req.first + 1],
    )
    records = [build(r) for r in rows[: req.first]]
    access.touch(r.get("audit_proposal") for r in rows[: req.first])
    return Page(
        items=[(sort_key(r), r) for r in records], has_next_page=len(rows) > req.first, total_count=total
    )
