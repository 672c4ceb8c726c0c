"""Keyset pagination in MariaDB SQL, matching mx_schema.cursors.ORDERINGS exactly.

Times sort newest first with null and zero dates last; strings sort by code point (utf8mb4_bin).
Only SQL fragments and their parameters are built here; nothing is executed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from site_adapter.backends.base import InvalidInput, SortKey
from site_adapter.backends.ispyb.localtime import WallClock
from site_adapter.query import Direction, Position, position


def time_expr(column: str) -> str:
    """A sort expression that is NULL for NULL and for zero dates ('0000-00-00' < '1000-01-01')."""
    return f"(CASE WHEN {column} >= '1000-01-01' THEN {column} END)"


def text_expr(column: str) -> str:
    """Code-point order whatever the column's charset (ISPyB tables are latin1_swedish_ci)."""
    return f"(CONVERT(COALESCE({column}, '') USING utf8mb4) COLLATE utf8mb4_bin)"


def unmatchable(*values: Any) -> bool:
    """True when an equality filter value has a character outside Latin-1: ISPyB's text columns are
    latin1 (tables.sql), so it equals no row, and MariaDB would refuse the comparison outright
    ("Illegal mix of collations", error 1267) rather than answer false."""
    for value in values:
        if isinstance(value, str):
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                return True
    return False


def binary_equals(column: str) -> str:
    """An exact, case- and accent-sensitive match; pair it with `column = %s` so an index serves it."""
    return f"(CONVERT({column} USING utf8mb4) COLLATE utf8mb4_bin = %s)"


def check_position(after: SortKey | None) -> Position | None:
    """The keyset position of a time-ordered connection (site_adapter.query.position), or InvalidInput."""
    return position(after, Direction.TIME_DESC)


def time_desc_after(expr: str, id_col: str, after: SortKey | None, clock: WallClock) -> tuple[str, list[Any]]:
    """Rows strictly after `after` in (instant DESC NULLS LAST, id DESC) order. The position is an
    instant; the column holds local wall times, so it compares with the wall times served as that
    instant, [lo, hi) (one value, or at a spring change the gap's and the first after it)."""
    at = position(after, Direction.TIME_DESC)
    if at is None:
        return "TRUE", []
    if at.value is None:
        return f"({expr} IS NULL AND {id_col} < %s)", [at.local_id]
    if not isinstance(at.value, dt.datetime):
        raise InvalidInput("malformed keyset position")
    lo, hi = clock.walls(at.value)
    return (
        f"({expr} < %s OR ({expr} >= %s AND {expr} < %s AND {id_col} < %s) OR {expr} IS NULL)",
        [lo, lo, hi, at.local_id],
    )


def time_desc_order(expr: str, id_col: str) -> str:
    # MariaDB sorts NULL lowest, so DESC already puts null (and zero) dates last.
    return f"{expr} DESC, {id_col} DESC"


def time_asc_after(expr: str, id_col: str, at: Position | None, clock: WallClock) -> tuple[str, list[Any]]:
    """Rows strictly after `at` in (instant ASC, id ASC) order with null (and zero) dates last: the
    mirror of time_desc_after (orderBy START_TIME ASC)."""
    if at is None:
        return "TRUE", []
    if at.value is None:
        return f"({expr} IS NULL AND {id_col} > %s)", [at.local_id]
    if not isinstance(at.value, dt.datetime):
        raise InvalidInput("malformed keyset position")
    lo, hi = clock.walls(at.value)
    return (
        f"({expr} >= %s OR ({expr} >= %s AND {expr} < %s AND {id_col} > %s) OR {expr} IS NULL)",
        [hi, lo, hi, at.local_id],
    )


def value_after(
    expr: str, id_col: str, at: Position | None, descending: bool, bound: Any = None
) -> tuple[str, list[Any]]:
    """Rows strictly after `at` in (value, id) order, both ascending or both descending, with null
    values last in both directions (orderBy on a metric). `bound` is the position's value as the
    column compares it (default: the value itself)."""
    if at is None:
        return "TRUE", []
    op = "<" if descending else ">"
    if at.value is None:
        return f"({expr} IS NULL AND {id_col} {op} %s)", [at.local_id]
    v = at.value if bound is None else bound
    return (
        f"({expr} {op} %s OR ({expr} = %s AND {id_col} {op} %s) OR {expr} IS NULL)",
        [v, v, at.local_id],
    )


def nulls_last_order(expr: str, id_col: str, descending: bool) -> str:
    """(value, id) both in one direction, null values last (MariaDB sorts NULL lowest)."""
    direction = "DESC" if descending else "ASC"
    return f"({expr} IS NULL), {expr} {direction}, {id_col} {direction}"


def text_asc_after(expr: str, id_col: str, after: SortKey | None) -> tuple[str, list[Any]]:
    """Rows strictly after `after` in (string ASC by code point, id ASC) order."""
    at = position(after, Direction.TEXT_ASC)
    if at is None:
        return "TRUE", []
    return f"({expr} > %s OR ({expr} = %s AND {id_col} > %s))", [at.value, at.value, at.local_id]


def text_asc_order(expr: str, id_col: str) -> str:
    return f"{expr} ASC, {id_col} ASC"


def id_list(ids: list[int]) -> str:
    """Placeholders for an IN list; callers pass at least one id."""
    return ", ".join(["%s"] * len(ids))


def int_ids(ids: Any) -> list[int]:
    """Local ids as integers, dropping the malformed (a batch lookup simply omits them)."""
    out: list[int] = []
    for i in ids:
        try:
            n = int(i)
        except (TypeError, ValueError):
            continue
        if n > 0:
            out.append(n)
    return sorted(set(out))
