"""How many records a native page's filter matches, within a budget (issue 17): exact up to a cap of
matches, an estimate flagged as one past it. Builds and runs count statements only; what a filter
means is queries.py's, and the page itself is backend.py's.

Counting every match of a broad filter at 1,000,000 collections took 310-440 ms (issue 17). Counting up
to `limit` matches costs at most the reading of `limit` index entries or rows, whatever the store's size;
past it, the planner's row estimate for the same statement (one EXPLAIN, no rows read) is the answer,
raised to the matches counted so that it is never below what the store has shown to exist.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from site_adapter.backends.base import CountKind

# Matches counted exactly before the count becomes an estimate: at 1M collections the slowest filter of
# bench/bench_counts.py counts this many in well under its 50 ms budget on a 2-core machine.
DEFAULT_EXACT_LIMIT = 20_000

Fetch = Callable[..., Awaitable[Sequence[Any]]]


def capped_sql(from_sql: str, where_sql: str, limit: int) -> str:
    """At most `limit` + 1 matches, counted: one more than the cap tells "more than the cap" apart."""
    return f"SELECT count(*) AS n FROM (SELECT 1 FROM {from_sql}{where_sql} LIMIT {int(limit) + 1}) m"


def estimate_sql(from_sql: str, where_sql: str) -> str:
    """The planner's estimate of the matches; EXPLAIN plans the statement and reads no rows."""
    return f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {from_sql}{where_sql}"


def planned_rows(explained: Any) -> int:
    """The top plan node's row estimate from EXPLAIN (FORMAT JSON) output (text or decoded)."""
    plan = json.loads(explained) if isinstance(explained, str) else explained
    return int(plan[0]["Plan"]["Plan Rows"])


async def count(
    fetch: Fetch, from_sql: str, where_sql: str, args: Sequence[Any], limit: int
) -> tuple[int, CountKind]:
    """(matches, EXACT) when there are at most `limit`; else (the estimate, ESTIMATE)."""
    rows = await fetch(capped_sql(from_sql, where_sql, limit), *args)
    counted = int(rows[0]["n"])
    if counted <= limit:
        return counted, CountKind.EXACT
    explained = await fetch(estimate_sql(from_sql, where_sql), *args)
    return max(planned_rows(explained[0][0]), counted), CountKind.ESTIMATE
