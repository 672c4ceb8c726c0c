"""Benchmark: dataCollections(orderBy:) at a native site holding 1,000,000 data collections (issue 16).

Loads the demo generator's rows with COPY into its own database (once; kept between runs), serves the
site with uvicorn on loopback and times pages of 20 over HTTP: best resolution ascending and descending,
from the start and from random deep positions, completeness descending, and an order with a filter.
Beside each, in the same run, the direct SQL anchor: the same page's ids from the index alone.
Usage: python bench/bench_order.py [--collections N] [--runs N]   (target: p95 <= 50 ms at 1M)
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Progress, fmt, native_demo_store, percentiles, served_site  # noqa: E402
from mx_schema.cursors import encode_cursor, sort_order  # noqa: E402

# Without totalCount: an exact count of an unfiltered million reads the whole table whatever the order
# (the native site skips it when not selected); COUNTED asks for it, to show what it costs.
QUERY = """query($f: DataCollectionFilter, $o: DataCollectionOrder, $after: String) {
  dataCollections(filter: $f, orderBy: $o, first: 20, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id localId startTime sample { name protein { acronym } }
      bestProcessing { program overall { resolutionHigh completeness ccHalf meanIOverSigI } } } } } }"""

COUNTED = QUERY.replace("pageInfo {", "totalCount pageInfo {", 1)

# The anchor: the page's ids straight from migration 007's index (what the site can at best do).
ANCHOR = {
    ("RESOLUTION", "ASC"): (
        "SELECT id FROM data_collection WHERE (coalesce(best_resolution, 'Infinity'::float8), id) > ($1, $2)"
        " ORDER BY coalesce(best_resolution, 'Infinity'::float8), id LIMIT 21"
    ),
    ("RESOLUTION", "DESC"): (
        "SELECT id FROM data_collection WHERE (coalesce(best_resolution, '-Infinity'::float8), id) < ($1, $2)"
        " ORDER BY coalesce(best_resolution, '-Infinity'::float8) DESC, id DESC LIMIT 21"
    ),
    ("COMPLETENESS", "DESC"): (
        "SELECT id FROM data_collection WHERE (coalesce(best_completeness, '-Infinity'::float8), id) < ($1, $2)"
        " ORDER BY coalesce(best_completeness, '-Infinity'::float8) DESC, id DESC LIMIT 21"
    ),
}
_COLUMN = {"RESOLUTION": "best_resolution", "COMPLETENESS": "best_completeness"}


async def positions(dsn: str, field: str, direction: str, k: int, n: int) -> list[tuple[float | None, int]]:
    """`k` random keyset positions (value, id) of the order, spread over the whole list."""
    column = _COLUMN[field]
    missing = "'-Infinity'::float8" if direction == "DESC" else "'Infinity'::float8"
    conn = await asyncpg.connect(dsn)
    try:
        out = []
        for offset in random.Random(11).sample(range(max(1, n - 25)), k):
            r = await conn.fetchrow(
                f"SELECT {column} AS v, id FROM data_collection ORDER BY coalesce({column}, {missing}) {direction},"
                f" id {direction} OFFSET $1 LIMIT 1",
                offset,
            )
            out.append((r["v"], r["id"]))
        return out
    finally:
        await conn.close()


async def time_http(
    client: httpx.AsyncClient, runs: int, make: Callable[[], dict[str, Any]], query: str = QUERY
) -> list[float]:
    for _ in range(5):  # warm up
        await client.post("/graphql", json={"query": query, "variables": make()})
    times = []
    for _ in range(runs):
        body = {"query": query, "variables": make()}
        t = time.perf_counter()
        r = await client.post("/graphql", json=body)
        times.append((time.perf_counter() - t) * 1000)
        data = r.json()
        if "errors" in data:
            raise SystemExit(f"query failed: {data['errors']}")
    return times


async def time_sql(dsn: str, runs: int, sql: str, make: Callable[[], tuple[float, int]]) -> list[float]:
    conn = await asyncpg.connect(dsn)
    try:
        stmt = await conn.prepare(sql)
        times = []
        for _ in range(runs):
            args = make()
            t = time.perf_counter()
            await stmt.fetch(*args)
            times.append((time.perf_counter() - t) * 1000)
        return times
    finally:
        await conn.close()


async def run(n: int, runs: int) -> None:

    # the same demo store as bench_site.py's (one load of a million serves both)
    dsn, _ = await native_demo_store(f"mxhub_bench_site_{n}", n, Progress(n, "loading data collections"))
    async with served_site(dsn) as (backend, url):
        rng = random.Random(7)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            for field, direction in ANCHOR:
                order = {"field": field, "direction": direction}
                sort = sort_order(field, direction == "DESC")
                deep = await positions(dsn, field, direction, 50, n)
                inf = float("-inf") if direction == "DESC" else float("inf")

                def cursor(p: tuple[float | None, int], sort: Any = sort) -> str:
                    return encode_cursor("dataCollections", p, sort)

                def bound(p: tuple[float | None, int], inf: float = inf) -> tuple[float, int]:
                    return (inf if p[0] is None else p[0], p[1])

                # Before the first row: everything is after (-inf, 0) ascending, before (+inf, 2^62) descending.
                start = (float("-inf"), 0) if direction == "ASC" else (float("inf"), 2**62)
                cases: dict[str, tuple[Callable[[], dict[str, Any]], Callable[[], tuple[float, int]]]] = {
                    "first page": (lambda order=order: {"o": order}, lambda start=start: start),
                    "random deep page": (
                        lambda order=order, deep=deep, cursor=cursor: {
                            "o": order,
                            "after": cursor(rng.choice(deep)),
                        },
                        lambda deep=deep, bound=bound: bound(rng.choice(deep)),
                    ),
                }
                for label, (make, sql_args) in cases.items():
                    site = await time_http(client, runs, make)
                    anchor = await time_sql(dsn, runs, ANCHOR[(field, direction)], sql_args)
                    print(f"orderBy {field} {direction}, {label:17s} site {fmt(percentiles(site))}")
                    print(f"{'':>23s}{'SQL anchor':>17s}      {fmt(percentiles(anchor))}")
            default = await time_http(client, runs, lambda: {})
            print(f"default order (no orderBy), first page         site {fmt(percentiles(default))}")
            counted = await time_http(
                client, runs, lambda: {"o": {"field": "RESOLUTION", "direction": "ASC"}}, COUNTED
            )
            print(f"orderBy RESOLUTION ASC, first page + totalCount site {fmt(percentiles(counted))}")
            filtered = await time_http(
                client,
                runs,
                lambda: {"o": {"field": "RESOLUTION", "direction": "ASC"}, "f": {"proteinAcronym": "TLN"}},
            )
            print(f"orderBy RESOLUTION ASC + proteinAcronym TLN   site {fmt(percentiles(filtered))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()
    asyncio.run(run(args.collections, args.runs))


if __name__ == "__main__":
    main()
