"""How many records a native page's filter matches, within a budget (issue 17): exact where that is
cheap, an estimate flagged as one where it is not. Builds and runs count statements only; what a filter
means is queries.py's, and the page itself is backend.py's.

Counting every match of a broad filter at 1,000,000 collections took 310-440 ms (issue 17). First one
EXPLAIN (planning only, no rows read) gives the planner's estimate of the matches and its cost of
reaching the cap; then:
- cheap (the cost to the cap within `max_cost`): the matches are counted, stopping after `limit` + 1 of
  them, so a broad filter reads a fixed number of index entries; at most `limit`: EXACT;
- past the cap, or too costly to count (two broad terms whose intersection is small, with no index that
  serves both): the estimate, raised to the matches counted so that it is never below what the store
  has shown to exist: ESTIMATE.
The choice is made from the plan, not the clock, so the same store and filter get the same kind of
answer however loaded the machine is; an operator may add a time budget (`count_budget`) on top.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from site_adapter.backends.base import CountKind

# Matches counted exactly before a count becomes an estimate, and the planner cost (PostgreSQL's units)
# an exact count may have. Measured at 1M collections on a 2-core machine (bench/bench_counts.py): an
# index-only read of 20,001 entries costs 1,100-3,500 and takes 2-10 ms; 10,000 is about 15-25 ms.
DEFAULT_EXACT_LIMIT = 20_000
DEFAULT_MAX_COST = 10_000.0

Fetch = Callable[..., Awaitable[Sequence[Any]]]
# Like Fetch, but None when the statement ran past a time budget (the driver has cancelled it).
FetchWithin = Callable[..., Awaitable[Sequence[Any] | None]]


def capped_sql(from_sql: str, where_sql: str, limit: int) -> str:
    """At most `limit` + 1 matches, counted: one more than the cap tells "more than the cap" apart."""
    return f"SELECT count(*) AS n FROM (SELECT 1 FROM {from_sql}{where_sql} LIMIT {int(limit) + 1}) m"


def estimate_sql(from_sql: str, where_sql: str) -> str:
    """The planner's estimate of the matches; EXPLAIN plans the statement and reads no rows."""
    return f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {from_sql}{where_sql}"


@dataclass(frozen=True, slots=True)
class Count:
    total: int  # what totalCount answers
    kind: CountKind
    seen: int  # matches the store has shown to exist: all of them when EXACT, 0 when the budget ran out


def cost_to_cap(plan: dict[str, Any], limit: int) -> float:
    """The planner's cost of reading the first `limit` + 1 matches of `plan` (its top node), as its
    LIMIT node would reckon it: the startup cost and the share of the run cost those rows take."""
    startup, total = float(plan["Startup Cost"]), float(plan["Total Cost"])
    share = min(1.0, (limit + 1) / max(float(plan["Plan Rows"]), 1.0))
    return startup + (total - startup) * share


async def count(
    fetch: Fetch,
    fetch_within: FetchWithin,
    from_sql: str,
    where_sql: str,
    args: Sequence[Any],
    limit: int,
    max_cost: float,
) -> Count:
    """EXACT when there are at most `limit` matches and counting them is cheap; else the planner's
    estimate, never below the matches seen. Cheap is decided before counting, from the plan (a cost of
    at most `max_cost` to reach the cap), so the same store and filter always get the same kind of
    answer; `fetch_within` may still give up on a count that runs past a time budget, if one is set."""
    explained = await fetch(estimate_sql(from_sql, where_sql), *args)
    raw = explained[0][0]
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    estimate = int(plan["Plan Rows"])
    if cost_to_cap(plan, limit) > max_cost:
        return Count(estimate, CountKind.ESTIMATE, 0)
    rows = await fetch_within(capped_sql(from_sql, where_sql, limit), *args)
    seen = 0 if rows is None else int(rows[0]["n"])
    if rows is not None and seen <= limit:
        return Count(seen, CountKind.EXACT, seen)
    return Count(max(estimate, seen), CountKind.ESTIMATE, seen)
