"""Benchmark: CONTRACT.md's query against a native site holding 1,000,000 data collections.

Loads the demo generator's rows with COPY (once; the database is kept between runs), serves the
site with uvicorn on loopback, and times the query over HTTP with sampleName, proteinAcronym and
resolutionBetterThan filters. Usage: python bench/bench_site.py [--collections N] [--runs N]
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

from bench.common import Progress, fmt, native_demo_store, percentiles  # noqa: E402
from mx_schema.examples import CONTRACT_QUERY  # noqa: E402
from site_adapter.app import create_app  # noqa: E402
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


async def run(n: int, runs: int, access: bool) -> None:
    from mxhub.serve import Served, make_server
    from site_adapter.access import AccessPolicy, EmbargoPolicy

    dsn = await prepare(n)
    backend = NativeBackend(dsn)
    await backend.start()
    # --access: the site enforces the access rule for an anonymous caller (public data only)
    policy = AccessPolicy(trusted_keys=[], embargo=EmbargoPolicy(3.0)) if access else None
    served = Served(
        "bench", create_app(backend, site="esrf", manage_backend=False, access_policy=policy)
    ).bind()
    server = make_server(served)
    task = asyncio.create_task(server.serve(sockets=[served.socket]))
    while not server.started:
        await asyncio.sleep(0.01)
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
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
        for label, make in cases.items():
            for _ in range(5):  # warm up
                await client.post(
                    "/graphql", json={"query": CONTRACT_QUERY, "variables": {"filter": make(), "first": 20}}
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
    server.should_exit = True
    await task
    await backend.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--collections", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--access", action="store_true", help="enforce the access rule (anonymous caller)")
    args = ap.parse_args()
    asyncio.run(run(args.collections, args.runs, args.access))


if __name__ == "__main__":
    main()
