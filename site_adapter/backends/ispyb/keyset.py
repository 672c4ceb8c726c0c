"""Keyset pagination in MariaDB SQL, matching mx_schema.cursors.ORDERINGS exactly.

Times sort newest first with null and zero dates last; strings sort by code point (utf8mb4_bin).
Only SQL fragments and their parameters are built here; nothing is executed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from site_adapter.backends.base import InvalidInput, SortKey

_KEY_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"  # mx_schema.cursors.time_key


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


def check_position(after: SortKey | None) -> tuple[Any, int] | None:
    """(sort value, local id) of a keyset position, or InvalidInput."""
    return _after_parts(after)


def _after_parts(after: SortKey | None) -> tuple[Any, int] | None:
    if after is None:
        return None
    if not isinstance(after, tuple) or len(after) != 2 or not isinstance(after[1], int):
        raise InvalidInput("malformed keyset position")
    return after[0], after[1]


def time_desc_after(expr: str, id_col: str, after: SortKey | None) -> tuple[str, list[Any]]:
    """Rows strictly after `after` in (time DESC NULLS LAST, id DESC) order."""
    parts = _after_parts(after)
    if parts is None:
        return "TRUE", []
    value, last_id = parts
    if value is None:
        return f"({expr} IS NULL AND {id_col} < %s)", [last_id]
    if not isinstance(value, str):
        raise InvalidInput("malformed keyset position")
    try:
        t = dt.datetime.strptime(value, _KEY_FORMAT)
    except ValueError:
        raise InvalidInput("malformed keyset position") from None
    return f"({expr} < %s OR ({expr} = %s AND {id_col} < %s) OR {expr} IS NULL)", [t, t, last_id]


def time_desc_order(expr: str, id_col: str) -> str:
    # MariaDB sorts NULL lowest, so DESC already puts null (and zero) dates last.
    return f"{expr} DESC, {id_col} DESC"


def text_asc_after(expr: str, id_col: str, after: SortKey | None) -> tuple[str, list[Any]]:
    """Rows strictly after `after` in (string ASC by code point, id ASC) order."""
    parts = _after_parts(after)
    if parts is None:
        return "TRUE", []
    value, last_id = parts
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput("malformed keyset position")
    return f"({expr} > %s OR ({expr} = %s AND {id_col} > %s))", [value, value, last_id]


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
