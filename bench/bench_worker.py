"""Index workers on the broker: files/s with 1 and with 2 `mxhub index worker` processes on this machine.

Usage: python bench/bench_worker.py [--fixtures DIR] [--copies N] [--concurrency N] [--json]
Each run: a fresh store and queue, the workers started and consuming, then one request per file for
--copies copies of the 60 l_cysteine images (real copies: the walk indexes one file once, whatever
number of links lead to it), timed until every file is stored and the queue is empty. Needs RabbitMQ
(MXHUB_BROKER_URL, default guest on 127.0.0.1:5672) and PostgreSQL (MXHUB_BENCH_PG_DSN, else local).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika
import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.common import server_dsn  # noqa: E402
from site_adapter.backends.native.migrate import migrate  # noqa: E402
from site_adapter.indexer.requests import CONTENT_TYPE, IndexRequest  # noqa: E402

DEADLINE = 300.0  # seconds: a run that takes longer is broken, not slow
BROKER = os.environ.get("MXHUB_BROKER_URL") or "amqp://guest:guest@127.0.0.1:5672/"


def _tree(fixtures: Path, copies: int, root: Path) -> list[Path]:
    files = sorted((fixtures / "images" / "l_cysteine").glob("*.cbf"))
    out = []
    for k in range(copies):
        d = root / f"copy{k}"
        d.mkdir()
        for p in files:
            shutil.copyfile(p, d / p.name)
            out.append(d / p.name)
    return out


async def _publish(queue: str, files: list[Path]) -> None:
    connection = await aio_pika.connect(BROKER)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for p in files:
            await channel.default_exchange.publish(
                aio_pika.Message(IndexRequest((str(p),)).to_body(), content_type=CONTENT_TYPE),
                routing_key=queue,
            )


async def _depth(channel: aio_pika.abc.AbstractChannel, queue: str) -> int:
    q = await channel.declare_queue(queue, durable=True)
    return int(q.declaration_result.message_count or 0)


async def run(n_workers: int, files: list[Path], roots: str, concurrency: int, batch: int) -> float:
    """Seconds from the first request posted to the last file stored, with `n_workers` workers."""
    server = await server_dsn()
    name = f"mxhub_bench_worker_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    dsn = server.rsplit("/", 1)[0] + "/" + name
    queue = f"mxhub.bench.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(BROKER)
    channel = await connection.channel()
    await channel.declare_queue(queue, durable=True)
    await channel.declare_queue(f"{queue}.failed", durable=True)
    env = dict(os.environ, MXHUB_BROKER_URL=BROKER, MXHUB_INDEX_QUEUE=queue, MXHUB_INDEX_ROOTS=roots)
    env["MXHUB_IMAGE_STORE_DSN"] = dsn
    logs = [tempfile.NamedTemporaryFile(prefix="bench-worker-", suffix=".log") for _ in range(n_workers)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mxhub",
                "index",
                "worker",
                "--concurrency",
                str(concurrency),
                "--batch",
                str(batch),
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=log,
        )
        for log in logs
    ]
    try:
        # Started and consuming (imports, migrations) before the clock starts.
        while not all(b"consuming" in Path(log.name).read_bytes() for log in logs):
            await asyncio.sleep(0.05)
        conn = await asyncpg.connect(dsn)
        await migrate(conn)  # as each worker does before its first request
        t = time.perf_counter()
        await _publish(queue, files)
        while (
            await conn.fetchval("SELECT count(*) FROM image_file") < len(files)
            or await _depth(channel, queue) > 0
        ):
            if time.perf_counter() - t > DEADLINE:
                raise SystemExit(f"not done after {DEADLINE} s: see the logs {[log.name for log in logs]}")
            if await _depth(channel, f"{queue}.failed"):
                raise SystemExit(f"requests were dead-lettered: see the logs {[log.name for log in logs]}")
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - t
        await conn.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(60)
        await channel.queue_delete(queue)
        await channel.queue_delete(f"{queue}.failed")
        await connection.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixtures", type=Path, default=REPO.parent / "shared" / "fixtures")
    parser.add_argument("--copies", type=int, default=3, help="copies of the 60 files (default 3: 180 files)")
    parser.add_argument("--concurrency", type=int, default=1, help="batches at once per worker")
    parser.add_argument(
        "--batch", type=int, default=32, help="requests per scan (mxhub index worker --batch)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result: dict[str, object] = {"cpus": os.cpu_count(), "concurrency": args.concurrency, "batch": args.batch}
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        root = Path(tmp)
        files = _tree(args.fixtures, args.copies, root)
        result["files"] = len(files)
        for n in (1, 2):
            elapsed = await run(n, files, str(root), args.concurrency, args.batch)
            result[f"workers_{n}"] = {
                "seconds": round(elapsed, 3),
                "files_per_s": round(len(files) / elapsed, 1),
            }
            if not args.json:
                print(
                    f"{n} worker(s): {len(files)} files in {elapsed:.2f} s = {len(files) / elapsed:,.0f} files/s"
                )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())
