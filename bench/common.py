"""Shared bench helpers: percentiles, a PostgreSQL to load into, and a progress line."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    s = sorted(samples_ms)

    def pct(p: float) -> float:
        return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]

    return {"n": len(s), "p50": pct(50), "p95": pct(95), "p99": pct(99), "mean": statistics.fmean(s)}


def fmt(stats: dict[str, float]) -> str:
    return f"n={stats['n']:>4} p50={stats['p50']:7.2f} ms  p95={stats['p95']:7.2f} ms  p99={stats['p99']:7.2f} ms"


async def server_dsn() -> str:
    """MXHUB_BENCH_PG_DSN, else the local PostgreSQL, else the embedded one."""
    dsn = os.environ.get("MXHUB_BENCH_PG_DSN")
    if dsn:
        return dsn
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        conn = await asyncpg.connect(local, timeout=3)
        await conn.close()
        return local
    except (TimeoutError, OSError, asyncpg.PostgresError):
        from mxhub.embedded import embedded_dsn

        return embedded_dsn("bench")


class Progress:
    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.start = total, label, time.perf_counter()
        self.done = 0

    def __call__(self, n: int) -> None:
        self.done += n
        if sys.stderr.isatty() or self.done >= self.total:
            rate = self.done / max(1e-9, time.perf_counter() - self.start)
            print(
                f"\r{self.label}: {self.done:,}/{self.total:,} ({rate:,.0f}/s)",
                end="",
                file=sys.stderr,
                flush=True,
            )
            if self.done >= self.total:
                print(file=sys.stderr)


async def native_demo_store(name: str, collections: int, progress=None) -> tuple[str, str]:
    """(dsn, server dsn) of a native store named `name` holding `collections` demo collections;
    created and loaded once, then kept between runs."""
    from mxhub.embedded import ensure_database
    from site_adapter.backends.native.loader import load_demo
    from site_adapter.backends.native.migrate import migrate

    server = await server_dsn()
    dsn = await ensure_database(server, name)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        have = await conn.fetchval("SELECT count(*) FROM data_collection")
        if have == 0:
            t = time.perf_counter()
            await load_demo(conn, "esrf", collections, progress=progress)
            print(
                f"loaded {collections:,} data collections in {time.perf_counter() - t:.1f} s", file=sys.stderr
            )
        elif have != collections:
            raise SystemExit(f"{name} holds {have} collections, expected {collections}: drop it and rerun")
    finally:
        await conn.close()
    return dsn, server


@asynccontextmanager
async def served_site(dsn: str, anonymous: bool = False) -> AsyncIterator[tuple[Any, str]]:
    """A native site over `dsn`, served by uvicorn on loopback in this process: (its backend, its URL).
    `anonymous`: the site enforces the access rule for an anonymous caller (public data only)."""
    from mxhub.serve import Served, make_server
    from site_adapter.access import AccessPolicy, EmbargoPolicy
    from site_adapter.app import create_app
    from site_adapter.backends.native import NativeBackend

    backend = NativeBackend(dsn)
    await backend.start()
    policy = AccessPolicy(trusted_keys=[], embargo=EmbargoPolicy(3.0)) if anonymous else None
    app = create_app(backend, site="esrf", manage_backend=False, access_policy=policy)
    served = Served("bench", app).bind()
    server = make_server(served)
    task = asyncio.create_task(server.serve(sockets=[served.socket]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield backend, served.url
    finally:
        server.should_exit = True
        await task
        await backend.close()
