"""Benchmark: CONTRACT.md's query against a native site holding 1,000,000 data collections.

Loads the demo generator's rows with COPY (once; the database is kept between runs), serves the
site with uvicorn on loopback, and times the query over HTTP with sampleName, proteinAcronym and
resolutionBetterThan filters, then CONTRACT.md's unfiltered page of `--first` (100) with its anchors measured
in the same run (issue 17): the same records read straight from the backend (the SQL behind the page,
no GraphQL) and a `{ __typename }` round trip (HTTP and the view, no records); each figure is also given
as a ratio to them. `--profile FILE` writes a pyinstrument profile of the page runs.
Usage: python bench/bench_site.py [--collections N] [--runs N] [--first N] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import Progress, fmt, native_demo_store, percentiles, served_site  # noqa: E402
from mx_schema.examples import CONTRACT_QUERY  # noqa: E402
from site_adapter.backends.native import NativeBackend  # noqa: E402


async def prepare(n: int) -> str:
    dsn, _ = await native_demo_store(f"mxhub_bench_site_{n}", n, Progress(n, "loading data collections"))
    return dsn


async def pick_filters(dsn: str, k: int) -> list[dict]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            """SELECT s.name, p.acronym, max(dc.best_resolution) AS res FROM sample s
               JOIN protein p ON p.id = s.protein_id JOIN data_collection dc ON dc.sample_id = s.id
               WHERE dc.best_resolution IS NOT NULL AND s.id % 997 = 0
               GROUP BY s.name, p.acronym LIMIT $1""",
            k,
        )
    finally:
        await conn.close()
    return [
        {
            "sampleName": r["name"],
            "proteinAcronym": r["acronym"],
            "resolutionBetterThan": round(r["res"] + 0.01, 2),
        }
        for r in rows
    ]


async def direct_page(backend: NativeBackend, first: int) -> int:
    """The page's records and every relation the CONTRACT query reads, straight from the backend."""
    from site_adapter.backends.base import DataCollectionFilter, PageRequest

    page = await backend.data_collections(DataCollectionFilter(), PageRequest(first=first))
    records = [r for _, r in page.items]
    ids = [r.local_id for r in records]
    samples = await backend.samples_by_id([r.sample_local_id for r in records if r.sample_local_id])
    crystals = await backend.crystals_by_id(
        [s.crystal_local_id for s in samples.values() if s.crystal_local_id]
    )
    await asyncio.gather(
        backend.sessions_by_id([r.session_local_id for r in records if r.session_local_id]),
        backend.detectors_by_id([r.detector_local_id for r in records if r.detector_local_id]),
        backend.proteins_by_id(
            [
                p
                for p in [
                    *(s.protein_local_id for s in samples.values()),
                    *(c.protein_local_id for c in crystals.values()),
                ]
                if p
            ]
        ),
        backend.processing_by_collection(ids),
    )
    return len(records)


async def timed_runs(runs: int, call) -> list[float]:
    for _ in range(5):  # warm up
        await call()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return times


async def anchored_page(
    client: httpx.AsyncClient, backend: NativeBackend, first: int, runs: int, profile: str | None
) -> None:
    """CONTRACT.md's page of `first`, with its two anchors from the same run, interleaved per round so
    that a change of load on the machine moves all three alike."""
    body = {"query": CONTRACT_QUERY, "variables": {"filter": {}, "first": first}}

    async def page() -> None:
        r = await client.post("/graphql", json=body)
        data = r.json()
        if "errors" in data or len(data["data"]["dataCollections"]["edges"]) != first:
            raise SystemExit(f"page failed: {str(data)[:300]}")

    async def typename() -> None:
        r = await client.post("/graphql", json={"query": "{ __typename }"})
        r.raise_for_status()

    async def direct() -> None:
        if await direct_page(backend, first) != first:
            raise SystemExit("the store holds fewer records than --first")

    profiler = None
    if profile:
        from pyinstrument import Profiler  # pip install pyinstrument

        profiler = Profiler(async_mode="disabled")
    rounds: dict[str, list[float]] = {"direct": [], "typename": [], "page": []}
    cpu: dict[str, list[float]] = {"direct": [], "typename": [], "page": []}
    for _ in range(5):
        await page(), await typename(), await direct()
    for _ in range(runs):
        for label, call in (("direct", direct), ("typename", typename), ("page", page)):
            if profiler is not None and label == "page":
                profiler.start()
            c, t = time.process_time(), time.perf_counter()
            await call()
            rounds[label].append((time.perf_counter() - t) * 1000)
            cpu[label].append((time.process_time() - c) * 1000)
            if profiler is not None and label == "page":
                profiler.stop()
    stats = {k: percentiles(v) for k, v in rounds.items()}
    cpu_stats = {k: percentiles(v) for k, v in cpu.items()}
    print(f"CONTRACT page of {first}, anchors from the same run:")
    print(f"  {'direct backend (SQL, no GraphQL)':40s} {fmt(stats['direct'])}")
    print(f"  {'{ __typename } round trip':40s} {fmt(stats['typename'])}")
    print(f"  {'CONTRACT page over HTTP':40s} {fmt(stats['page'])}")
    # CPU of this process (client, site and driver; not PostgreSQL's): moves less with the machine's load
    print(f"  {'CPU per direct read (this process)':40s} {fmt(cpu_stats['direct'])}")
    print(f"  {'CPU per { __typename } round trip':40s} {fmt(cpu_stats['typename'])}")
    print(f"  {'CPU per page over HTTP':40s} {fmt(cpu_stats['page'])}")
    for anchor in ("direct", "typename"):
        print(
            f"  page / {anchor}: p50 {stats['page']['p50'] / stats[anchor]['p50']:.1f}x"
            f"  p95 {stats['page']['p95'] / stats[anchor]['p95']:.1f}x"
        )
    if profiler is not None and profile:
        Path(profile).write_text(profiler.output_text(unicode=False, color=False))
        print(f"  profile written to {profile}")


async def run(
    n: int, runs: int, access: bool, first: int = 100, profile: str | None = None, cases_too: bool = True
) -> None:

    dsn = await prepare(n)
    async with served_site(dsn, access) as (backend, url):
        filters = await pick_filters(dsn, 50)
        rng = random.Random(7)
        cases = {
            "sampleName + proteinAcronym + resolutionBetterThan": lambda: rng.choice(filters),
            "sampleName only": lambda: {"sampleName": rng.choice(filters)["sampleName"]},
            "proteinAcronym + resolutionBetterThan (broad)": lambda: {
                "proteinAcronym": "TLN",
                "resolutionBetterThan": 1.6,
            },
        }
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await anchored_page(client, backend, first, runs, profile)
            for label, make in cases.items() if cases_too else ():
                for _ in range(5):  # warm up
                    await client.post(
                        "/graphql",
                        json={"query": CONTRACT_QUERY, "variables": {"filter": make(), "first": 20}},
                    )
                times = []
                for _ in range(runs):
                    body = {"query": CONTRACT_QUERY, "variables": {"filter": make(), "first": 20}}
                    t = time.perf_counter()
                    r = await client.post("/graphql", json=body)
                    times.append((time.perf_counter() - t) * 1000)
                    data = r.json()
                    if "errors" in data:
                        raise SystemExit(f"query failed: {data['errors']}")
                print(
                    f"{label:55s} {fmt(percentiles(times))}  (last totalCount {data['data']['dataCollections']['totalCount']})"
                )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--access", action="store_true", help="enforce the access rule (anonymous caller)")
    ap.add_argument("--first", type=int, default=100, help="page size of the anchored CONTRACT page")
    ap.add_argument("--profile", help="write a pyinstrument profile of the CONTRACT page runs here")
    ap.add_argument("--page-only", action="store_true", help="only the anchored CONTRACT page")
    args = ap.parse_args()
    asyncio.run(run(args.collections, args.runs, args.access, args.first, args.profile, not args.page_only))


if __name__ == "__main__":
    main()
