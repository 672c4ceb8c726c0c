"""Preview benchmark (issue 22) on the real PILATUS3 6M grid frame: making a preview (decode + downsample +
PNG) against bare decoding by fabio and by our decoder, and serving a stored preview from the site store.

Usage: python bench/bench_previews.py [--fixtures DIR] [--runs N] [--requests N] [--json]
Targets: a 6M frame preview made in <= 150 ms (p50, from a plain .cbf in the page cache; the .cbf.bz2 archive
form is reported too: bzip2 dominates it), served from the store in <= 10 ms (p50, GET through the site app).
"""

from __future__ import annotations

import argparse
import asyncio
import bz2
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import fmt, percentiles, server_dsn  # noqa: E402
from site_adapter.indexer.frames import read_frame  # noqa: E402
from site_adapter.indexer.previews import render  # noqa: E402


def timed(runs: int, fn: Callable[[], object]) -> dict[str, float]:
    fn()  # warm: imports, page cache
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return percentiles(samples)


def making(frame_path: str, archive: str, runs: int) -> dict[str, dict[str, float]]:
    import fabio

    frame = read_frame(frame_path)
    out = {
        "preview 512 (decode + render)": timed(runs, lambda: render(read_frame(frame_path).pixels, 512)),
        "preview 1024 (decode + render)": timed(runs, lambda: render(read_frame(frame_path).pixels, 1024)),
        "render 512 only (decoded frame)": timed(runs, lambda: render(frame.pixels, 512, frame.count_cutoff)),
        "anchor: our decode only": timed(runs, lambda: read_frame(frame_path)),
        "anchor: fabio.open(...).data": timed(runs, lambda: fabio.open(frame_path).data),
        "archive .cbf.bz2: preview 512": timed(
            max(3, runs // 5), lambda: render(read_frame(archive).pixels, 512)
        ),
    }
    return out


async def serving(requests: int) -> tuple[dict[str, float], dict[str, float]]:
    """GET /previews/{id}/frames/1?size=512 through the site app (ASGI, no network), from a stored row; and
    GET /health on the same app, the floor of any request there."""
    import asyncpg
    import httpx

    from mx_schema.ids import encode_id
    from site_adapter.app import create_app
    from site_adapter.backends.native import NativeBackend
    from site_adapter.backends.native.migrate import migrate
    from site_adapter.indexer.preview_store import StoredPreview, save_previews

    server = await server_dsn()
    name = f"mxhub_bench_previews_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    from mxhub.embedded import with_database

    dsn = with_database(server, name)
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await migrate(conn)
            set_id = await conn.fetchval(
                "INSERT INTO image_set (directory, template, first_image, last_image, image_count, kind)"
                " VALUES ('/bench', 'x_####.cbf', 1, 1, 1, 'still') RETURNING id"
            )
            picture = render(read_frame(str(FRAME)).pixels, 512)
            await save_previews(
                conn,
                [
                    StoredPreview(
                        set_id,
                        "frame",
                        1,
                        512,
                        "image/png",
                        picture.width,
                        picture.height,
                        picture.binning,
                        data=picture.data,
                    )
                ],
            )
        finally:
            await conn.close()
        backend = NativeBackend(dsn, min_size=1, max_size=4)
        await backend.start()
        try:
            app = create_app(backend, site="bench", manage_backend=False)
            url = f"/previews/{encode_id('bench', 'ImageSet', set_id)}/frames/1?size=512"
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://b") as c:
                assert (await c.get(url)).status_code == 200
                samples, floor = [], []
                for _ in range(requests):
                    t = time.perf_counter()
                    r = await c.get(url)
                    samples.append((time.perf_counter() - t) * 1000)
                    if r.status_code != 200:
                        raise SystemExit(f"GET {url}: HTTP {r.status_code}")
                    t = time.perf_counter()
                    await c.get("/health")
                    floor.append((time.perf_counter() - t) * 1000)
        finally:
            await backend.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return percentiles(samples), percentiles(floor)


FRAME = Path()


def main() -> None:
    global FRAME
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("MXHUB_FIXTURES") or str(REPO.parent / "shared" / "fixtures")
    parser.add_argument("--fixtures", default=default)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    archive = Path(args.fixtures) / "images/thaumatin_grid/thau_3_2_0001.cbf.bz2"
    if not archive.exists():
        raise SystemExit(f"fixture not found: {archive}")
    with tempfile.TemporaryDirectory() as tmp:
        FRAME = Path(tmp) / "thau_3_2_0001.cbf"  # the form a beamline writes; archives add bzip2
        FRAME.write_bytes(bz2.decompress(archive.read_bytes()))
        results = making(str(FRAME), str(archive), args.runs)
        served, floor = asyncio.run(serving(args.requests))
        results["served from the store (GET, 512 px)"] = served
        results["anchor: GET /health, same app"] = floor
    results["load average (1 min)"] = {"n": 1, "p50": os.getloadavg()[0], "p95": 0.0, "p99": 0.0, "mean": 0.0}
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print("PILATUS3 6M frame, 2463 x 2527 pixels")
    for label, stats in results.items():
        if label.startswith("load"):
            print(f"  machine load average while running: {stats['p50']:.1f} on {os.cpu_count()} CPUs")
        else:
            print(f"  {label:<40} {fmt(stats)}")
    make = results["preview 512 (decode + render)"]["p50"]
    serve = results["served from the store (GET, 512 px)"]["p50"]
    print(
        f"targets: made <= 150 ms: {'yes' if make <= 150 else 'NO'} ({make:.1f} ms); "
        f"served <= 10 ms: {'yes' if serve <= 10 else 'NO'} ({serve:.2f} ms)"
    )


if __name__ == "__main__":
    main()
