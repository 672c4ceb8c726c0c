"""Benchmark: every CONTRACT.md filter's totalCount at a native site holding 1,000,000 data collections
(issue 17, item 3: p95 <= 50 ms, exact where cheap, an estimate that says so where not).

Uses bench_site.py's store (loaded once with COPY, then kept), serves the site with uvicorn on loopback
and, per filter, interleaves two requests per round so that a change of load moves both alike:
- count:  `dataCollections(filter, first: 0) { totalCount totalCountKind }`;
- anchor: the same filter's page of 20 without totalCount (`edges { cursor }`), which counts nothing.
Beside the figures: the kind the site answered, its count, the true count (SQL count(*), run once and
untimed) and the estimate's error. `--anonymous` puts the access rule (public data only) in every count.
`--facets`: instead of totalCount, `dataCollectionFacets` (since 1.2.0, docs/facets.md) of a few filters,
one field at a time and all four at once, each interleaved with the same anchor page; beside the figures
the kinds answered and, for the top value, its count against SQL's (untimed).
Usage: python bench/bench_counts.py [--collections N] [--runs N] [--anonymous] [--only LABEL] [--facets]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Progress, native_demo_store, percentiles, served_site  # noqa: E402

COUNT = (
    "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 0) { totalCount totalCountKind } }"
)
FACETS = (
    "query($f: DataCollectionFilter, $fields: [FacetField!]!) {"
    " dataCollectionFacets(filter: $f, fields: $fields) { field values { value count countKind } } }"
)
FACET_FIELDS = ["BEAMLINE", "EXPERIMENT_TYPE", "SPACE_GROUP", "PROTEIN"]
# Each field's value as SQL over TRUTH_FROM, for the top value's true count.
FACET_TRUTH = {
    "BEAMLINE": "dc.beamline",
    "EXPERIMENT_TYPE": "dc.experiment_type",
    "SPACE_GROUP": "replace(upper(dc.best_space_group), ' ', '')",
    "PROTEIN": "p.acronym",
}
# The filters --facets times: broad, narrow, counted and estimated ones.
FACET_FILTERS = (
    "no filter",
    "proteinAcronym TLN",
    "beamline",
    "spaceGroup P6122",
    "TLN + resolutionBetterThan 1.6",
    "beamline + OSC + startAfter",
    "beamline + resolutionBetterThan 1.3",
    "visit",
)
ANCHOR = "query($f: DataCollectionFilter) { dataCollections(filter: $f, first: 20) { edges { cursor } } }"
MIDDLE = "2022-01-01T00:00:00+00:00"

# The true count of each filter, in SQL written here (joins through sample and session), for the error.
TRUTH_FROM = """FROM data_collection dc LEFT JOIN sample s ON s.id = dc.sample_id
  LEFT JOIN crystal c ON c.id = s.crystal_id LEFT JOIN protein p ON p.id = s.protein_id
  LEFT JOIN session se ON se.id = dc.session_id LEFT JOIN proposal po ON po.id = se.proposal_id"""


async def _values(dsn: str) -> dict[str, Any]:
    """A typical value of each filtered column, read by SQL (a sample, crystal, visit of the middle)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT s.name, s.barcode, c.uuid, po.code, se.visit FROM data_collection dc"
            " JOIN sample s ON s.id = dc.sample_id JOIN crystal c ON c.id = s.crystal_id"
            " JOIN session se ON se.id = dc.session_id JOIN proposal po ON po.id = se.proposal_id"
            " WHERE dc.id = (SELECT min(id) + (max(id) - min(id)) / 2 FROM data_collection)"
        )
        beamline = await conn.fetchval("SELECT beamline FROM session ORDER BY id LIMIT 1")
    finally:
        await conn.close()
    return {
        "sample": row[0],
        "barcode": row[1],
        "uuid": row[2],
        "proposal": row[3],
        "visit": row[4],
        "bl": beamline,
    }


def cases(v: dict[str, Any]) -> list[tuple[str, dict[str, Any], str, list[Any]]]:
    """(label, filter, SQL condition over TRUTH_FROM, its arguments): each CONTRACT term, and combinations."""
    mid = dt.datetime.fromisoformat(MIDDLE)
    return [
        ("no filter", {}, "TRUE", []),
        ("sampleName", {"sampleName": v["sample"]}, "s.name = $1", [v["sample"]]),
        ("sampleBarcode", {"sampleBarcode": v["barcode"]}, "s.barcode = $1", [v["barcode"]]),
        ("crystalUuid", {"crystalUuid": v["uuid"]}, "c.uuid = $1", [v["uuid"]]),
        ("proteinAcronym TLN", {"proteinAcronym": "TLN"}, "p.acronym = $1", ["TLN"]),
        ("proteinName 'thaum'", {"proteinName": "thaum"}, "lower(p.name) LIKE $1", ["%thaum%"]),
        ("proteinName 'in' (broad)", {"proteinName": "in"}, "lower(p.name) LIKE $1", ["%in%"]),
        ("uniprotId P00698", {"uniprotId": "P00698"}, "$1 = ANY(p.uniprot_ids)", ["P00698"]),
        ("proposal", {"proposal": v["proposal"]}, "po.code = $1", [v["proposal"]]),
        ("visit", {"visit": v["visit"]}, "se.visit = $1", [v["visit"]]),
        ("beamline", {"beamline": v["bl"]}, "dc.beamline = $1", [v["bl"]]),
        ("experimentType OSC", {"experimentType": "OSC"}, "dc.experiment_type = $1", ["OSC"]),
        ("startAfter", {"startAfter": MIDDLE}, "dc.start_time >= $1", [mid]),
        ("startBefore", {"startBefore": MIDDLE}, "dc.start_time < $1", [mid]),
        ("resolutionBetterThan 1.2", {"resolutionBetterThan": 1.2}, "dc.best_resolution <= $1", [1.2]),
        (
            "spaceGroup P6122",
            {"spaceGroup": "P6122"},
            "replace(upper(dc.best_space_group), ' ', '') = $1",
            ["P6122"],
        ),
        (
            "TLN + resolutionBetterThan 1.6",
            {"proteinAcronym": "TLN", "resolutionBetterThan": 1.6},
            "p.acronym = $1 AND dc.best_resolution <= $2",
            ["TLN", 1.6],
        ),
        (
            "TLN + resolutionBetterThan 1.3",
            {"proteinAcronym": "TLN", "resolutionBetterThan": 1.3},
            "p.acronym = $1 AND dc.best_resolution <= $2",
            ["TLN", 1.3],
        ),
        (
            "beamline + OSC + startAfter",
            {"beamline": v["bl"], "experimentType": "OSC", "startAfter": MIDDLE},
            "dc.beamline = $1 AND dc.experiment_type = $2 AND dc.start_time >= $3",
            [v["bl"], "OSC", mid],
        ),
        (
            "proposal + TLN",
            {"proposal": v["proposal"], "proteinAcronym": "TLN"},
            "po.code = $1 AND p.acronym = $2",
            [v["proposal"], "TLN"],
        ),
        (  # no index serves both terms: estimated unless cheap enough to count (migration 011 does not try)
            "beamline + resolutionBetterThan 1.3",
            {"beamline": v["bl"], "resolutionBetterThan": 1.3},
            "dc.beamline = $1 AND dc.best_resolution <= $2",
            [v["bl"], 1.3],
        ),
        (
            "Characterization + P6122",
            {"experimentType": "Characterization", "spaceGroup": "P6122"},
            "dc.experiment_type = $1 AND replace(upper(dc.best_space_group), ' ', '') = $2",
            ["Characterization", "P6122"],
        ),
        (
            "startAfter + startBefore + P6122",
            {"startAfter": "2021-01-01T00:00:00+00:00", "startBefore": MIDDLE, "spaceGroup": "P6122"},
            "dc.start_time >= $1 AND dc.start_time < $2 AND replace(upper(dc.best_space_group), ' ', '') = $3",
            [dt.datetime(2021, 1, 1, tzinfo=dt.UTC), mid, "P6122"],
        ),
    ]


async def timed(client: httpx.AsyncClient, query: str, f: dict[str, Any], **more: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    r = await client.post("/graphql", json={"query": query, "variables": {"f": f, **more}})
    ms = (time.perf_counter() - t) * 1000
    data = r.json()
    if "errors" in data:
        raise SystemExit(f"query failed: {data['errors']}")
    return ms, next(iter(data["data"].values()))


async def run(n: int, runs: int, anonymous: bool, only: str | None, facets: bool = False) -> None:

    dsn, _ = await native_demo_store(f"mxhub_bench_site_{n}", n, Progress(n, "loading data collections"))
    conn = await asyncpg.connect(dsn)
    await conn.execute("VACUUM ANALYZE")  # a store after its loader has run: visibility map and statistics
    await conn.close()
    async with served_site(dsn, anonymous) as (backend, url):
        chosen = [c for c in cases(await _values(dsn)) if only is None or only.lower() in c[0].lower()]
        budget = (
            "no time budget"
            if backend.count_budget is None
            else f"{backend.count_budget * 1000:.0f} ms budget"
        )
        print(
            f"{n:,} collections, {runs} rounds per filter, exact up to {backend.exact_count_limit:,} matches"
            f" at a planner cost up to {backend.count_max_cost:,.0f} ({budget});"
            f" {'anonymous (access rule)' if anonymous else 'no access rule'}"
        )
        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        if facets:
            chosen = [c for c in chosen if c[0] in FACET_FILTERS]
            async with httpx.AsyncClient(base_url=url, timeout=60) as client:
                worst = await _facets(client, dsn, chosen, runs, anonymous)
            print(f"worst facet p95: {worst:.1f} ms; load average at end: {os.getloadavg()[0]:.2f}")
            return
        head = f"{'filter':34s} {'true':>9s} {'answered':>9s} {'kind':8s} {'err':>6s}"
        print(f"{head} {'count p50':>9s} {'p95':>7s} {'anchor p50':>10s} {'p95':>7s} {'p95/anchor':>10s}")
        worst = 0.0
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            for label, f, cond, args in chosen:
                truth = await _truth(dsn, cond, args, anonymous)
                for _ in range(3):  # warm up
                    await timed(client, COUNT, f)
                    await timed(client, ANCHOR, f)
                counts, anchors, kinds, answered = [], [], set(), 0
                for _ in range(runs):
                    ms, conn_ = await timed(client, COUNT, f)
                    counts.append(ms)
                    kinds.add(conn_["totalCountKind"])
                    answered = conn_["totalCount"]
                    anchors.append((await timed(client, ANCHOR, f))[0])
                c, a = percentiles(counts), percentiles(anchors)
                worst = max(worst, c["p95"])
                err = "" if truth is None else f"{(answered - truth) / max(truth, 1) * 100:+.0f}%"
                print(
                    f"{label:34s} {_n(truth):>9s} {answered:>9,} {'/'.join(sorted(kinds)):8s} {err:>6s}"
                    f" {c['p50']:9.1f} {c['p95']:7.1f} {a['p50']:10.1f} {a['p95']:7.1f} {c['p95'] / a['p95']:10.2f}"
                )
        print(f"worst count p95: {worst:.1f} ms; load average at end: {os.getloadavg()[0]:.2f}")


async def _facets(
    client: httpx.AsyncClient,
    dsn: str,
    chosen: list[tuple[str, dict[str, Any], str, list[Any]]],
    runs: int,
    anonymous: bool,
) -> float:
    """Per filter and field (and all four fields at once): facet p50/p95 beside the anchor page's."""
    head = f"{'filter':34s} {'field':15s} {'kind':8s} {'top value':>12s} {'count':>9s} {'true':>9s}"
    print(f"{head} {'facet p50':>9s} {'p95':>7s} {'anchor p50':>10s} {'p95':>7s} {'p95/anchor':>10s}")
    worst = 0.0
    for label, f, cond, args in chosen:
        for fields in [[name] for name in FACET_FIELDS] + [FACET_FIELDS]:
            for _ in range(3):  # warm up
                await timed(client, FACETS, f, fields=fields)
                await timed(client, ANCHOR, f)
            times, anchors, kinds = [], [], set()
            answer: list[dict[str, Any]] = []
            for _ in range(runs):
                ms, answer = await timed(client, FACETS, f, fields=fields)
                times.append(ms)
                kinds |= {v["countKind"] for facet in answer for v in facet["values"]}
                anchors.append((await timed(client, ANCHOR, f))[0])
            c, a = percentiles(times), percentiles(anchors)
            worst = max(worst, c["p95"])
            top = answer[0]["values"][0] if answer and answer[0]["values"] else None
            truth = (
                None
                if top is None
                else await _facet_truth(dsn, fields[0], top["value"], cond, args, anonymous)
            )
            name = fields[0] if len(fields) == 1 else "all four"
            value, count = ("-", "-") if top is None else (str(top["value"])[:12], f"{top['count']:,}")
            print(
                f"{label:34s} {name:15s} {'/'.join(sorted(kinds)) or '-':8s} {value:>12s} {count:>9s}"
                f" {_n(truth):>9s} {c['p50']:9.1f} {c['p95']:7.1f} {a['p50']:10.1f} {a['p95']:7.1f}"
                f" {c['p95'] / a['p95']:10.2f}"
            )
    return worst


async def _facet_truth(
    dsn: str, field: str, value: str | None, cond: str, args: list[Any], anonymous: bool
) -> int | None:
    """The top value's true count (untimed), or None under the access rule."""
    if anonymous:
        return None
    expr = FACET_TRUTH[field]
    match = f"{expr} IS NULL" if value is None else f"{expr} = ${len(args) + 1}"
    conn = await asyncpg.connect(dsn)
    try:
        more = [] if value is None else [value]
        return int(
            await conn.fetchval(f"SELECT count(*) {TRUTH_FROM} WHERE ({cond}) AND {match}", *args, *more)
        )
    finally:
        await conn.close()


def _n(v: int | None) -> str:
    return "?" if v is None else f"{v:,}"


async def _truth(dsn: str, cond: str, args: list[Any], anonymous: bool) -> int | None:
    """The true count (untimed), or None under the access rule, whose SQL is the site's to say."""
    if anonymous:
        return None
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval(f"SELECT count(*) {TRUTH_FROM} WHERE {cond}", *args))
    finally:
        await conn.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--anonymous", action="store_true", help="enforce the access rule (anonymous caller)")
    ap.add_argument("--only", help="only the filters whose label contains this")
    ap.add_argument("--facets", action="store_true", help="time dataCollectionFacets instead of totalCount")
    args = ap.parse_args()
    asyncio.run(run(args.collections, args.runs, args.anonymous, args.only, args.facets))


if __name__ == "__main__":
    main()
