"""How many records a native page's filter matches, within a budget (issue 17): exact where that is
cheap, an estimate flagged as one where it is not. Builds and runs count statements only; what a filter
means is queries.py's, and the page itself is backend.py's.

Counting every match of a broad filter at 1,000,000 collections took 310-440 ms (issue 17). Two bounds
keep a count cheap whatever the store's size and the filter:
- a cap of matches: counting stops after `limit` + 1 of them, so a broad filter reads a fixed number of
  index entries or rows;
- a time budget: a filter whose plan must read far more rows than it matches (two broad terms whose
  intersection is small) is cancelled by the driver when the budget runs out.
Past either bound the answer is the planner's row estimate for the same statement (one EXPLAIN, no rows
read), raised to the matches counted so that it is never below what the store has shown to exist.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from site_adapter.backends.base import CountKind

# Matches counted exactly before a count becomes an estimate, and the time an exact count may take.
# Measured at 1M collections on a 2-core machine (bench/bench_counts.py): a capped count of every
# CONTRACT filter finishes in a few ms, and the budget leaves the page's own statement and GraphQL
# room inside issue 17's 50 ms.
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_BUDGET_S = 0.025

Fetch = Callable[..., Awaitable[Sequence[Any]]]
# Like Fetch, but None when the statement ran past the budget (the driver has cancelled it).
FetchWithin = Callable[..., Awaitable[Sequence[Any] | None]]


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


@dataclass(frozen=True, slots=True)
class Count:
    total: int  # what totalCount answers
    kind: CountKind
    seen: int  # matches the store has shown to exist: all of them when EXACT, 0 when the budget ran out


async def count(
    fetch: Fetch,
    fetch_within: FetchWithin,
    from_sql: str,
    where_sql: str,
    args: Sequence[Any],
    limit: int,
) -> Count:
    """EXACT when there are at most `limit` matches and counting them fits the budget; else the
    planner's estimate, never below the matches seen."""
    rows = await fetch_within(capped_sql(from_sql, where_sql, limit), *args)
    seen = 0 if rows is None else int(rows[0]["n"])
    if rows is not None and seen <= limit:
        return Count(seen, CountKind.EXACT, seen)
    explained = await fetch(estimate_sql(from_sql, where_sql), *args)
    return Count(max(planned_rows(explained[0][0]), seen), CountKind.ESTIMATE, seen)
