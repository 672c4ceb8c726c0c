"""`mxhub index worker|publish|list` as real processes against the real RabbitMQ and PostgreSQL (issue 18):
a worker killed mid-batch and restarted loses and duplicates nothing, SIGTERM drains, /metrics answers,
and `mxhub index PATH...` still scans. Expected sweeps come from the fixture's names (15 images each)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import aio_pika
import asyncpg
import pytest
from click.testing import CliRunner
from prometheus_client.parser import text_string_to_metric_families

from mxhub.cli import main
from site_adapter.indexer.requests import CONTENT_TYPE, IndexRequest
from tests.fixtures.images import REPO
from tests.fixtures.rabbitmq import drain_failed, queue_depth

LIMIT = 180.0  # seconds: a generous bound for a condition, never an assertion on time
FOUR_SWEEPS = [(f"l-cyst_0{k}_#####.cbf", 1, 15, 15) for k in range(1, 5)]


async def _until(condition, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIMIT
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _publish_each(url: str, queue: str, files: list[Path]) -> None:
    """One request per file, on one connection (what a detector's file writer announcing frames does)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(queue, durable=True)
        await channel.declare_queue(f"{queue}.failed", durable=True)
        for p in files:
            await channel.default_exchange.publish(
                aio_pika.Message(
                    IndexRequest((str(p),)).to_body(),
                    content_type=CONTENT_TYPE,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
            )


class Store:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def count(self) -> int:
        conn = await asyncpg.connect(self.dsn)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM image_file"))
        finally:
            await conn.close()

    async def files(self) -> list[tuple[str, str | None, int | None]]:
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch("SELECT path, error, image_set_id FROM image_file ORDER BY path")
        finally:
            await conn.close()
        return [(r["path"], r["error"], r["image_set_id"]) for r in rows]

    async def sweeps(self) -> list[tuple[str, int, int, int]]:
        conn = await asyncpg.connect(self.dsn)
        try:
            rows = await conn.fetch(
                "SELECT template, first_image, last_image, image_count FROM image_set ORDER BY template"
            )
        finally:
            await conn.close()
        return [(r["template"], r["first_image"], r["last_image"], r["image_count"]) for r in rows]


def _worker(url: str, queue: str, dsn: str, root: Path, log: Path, *extra: str) -> subprocess.Popen[bytes]:
    """A worker taking one request at a time: slow on purpose, so a signal lands mid-queue."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MXHUB_")}
    env.update(
        MXHUB_BROKER_URL=url,
        MXHUB_INDEX_QUEUE=queue,
        MXHUB_IMAGE_STORE_DSN=dsn,
        MXHUB_INDEX_ROOTS=str(root),
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mxhub", "index", "worker", "--concurrency", "1", "--batch", "1", *extra],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )


async def _exit_code(proc: subprocess.Popen[bytes]) -> int:
    return await asyncio.to_thread(proc.wait, LIMIT)


@pytest.fixture
def lcys_files(images: Path) -> list[Path]:
    files = sorted((images / "l_cysteine").glob("*.cbf"))
    assert len(files) == 60
    return files


async def test_killed_worker_restarted_stores_each_file_once(
    rabbitmq_url, index_queue, native_dsn, images, lcys_files, tmp_path
):
    store = Store(native_dsn)
    await _publish_each(rabbitmq_url, index_queue, lcys_files)
    log = tmp_path / "worker.log"
    proc = _worker(rabbitmq_url, index_queue, native_dsn, images, log)
    try:

        async def some_stored() -> bool:
            return await store.count() >= 3 or proc.poll() is not None

        await _until(some_stored, "the first files to be stored")
        proc.send_signal(signal.SIGKILL)  # mid-batch: one request in flight, unacked
        assert await _exit_code(proc) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 3 <= await store.count() < 60, log.read_text()  # killed with requests left
    proc = _worker(rabbitmq_url, index_queue, native_dsn, images, log)
    try:

        async def all_done() -> bool:
            return (
                await store.count() == 60
                and await queue_depth(rabbitmq_url, index_queue) == 0
                and await store.sweeps() == FOUR_SWEEPS
            )

        await _until(all_done, "all 60 files")
        proc.send_signal(signal.SIGTERM)
        assert await _exit_code(proc) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    rows = await store.files()
    assert [p for p, _, _ in rows] == [str(p) for p in lcys_files]  # each file once (path is unique too)
    assert all(error is None and set_id is not None for _, error, set_id in rows)
    assert await store.sweeps() == FOUR_SWEEPS
    assert await queue_depth(rabbitmq_url, index_queue) == 0  # every request acked, none left behind
    assert await drain_failed(rabbitmq_url, index_queue) == []


async def test_sigterm_drains_acks_in_flight_and_exits_zero_with_metrics(
    rabbitmq_url, index_queue, native_dsn, images, lcys_files, tmp_path
):
    store = Store(native_dsn)
    await _publish_each(rabbitmq_url, index_queue, lcys_files)
    log = tmp_path / "worker.log"
    proc = _worker(rabbitmq_url, index_queue, native_dsn, images, log, "--metrics-port", "0")
    try:

        async def metrics_url() -> bool:
            return "metrics: http://" in log.read_text() or proc.poll() is not None

        await _until(metrics_url, "the metrics address")
        url = re.search(r"metrics: (http://\S+)", log.read_text())
        assert url, log.read_text()
        text = await asyncio.to_thread(lambda: urllib.request.urlopen(url[1], timeout=30).read().decode())
        families = {f.name for f in text_string_to_metric_families(text)}
        assert "mxhub_index_files" in families and all(n.startswith("mxhub_") for n in families)

        async def some_stored() -> bool:
            return await store.count() >= 2 or proc.poll() is not None

        await _until(some_stored, "the first files to be stored")
        proc.send_signal(signal.SIGTERM)
        assert await _exit_code(proc) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
    stored = await store.count()
    left = await queue_depth(rabbitmq_url, index_queue)
    # One request per file: what was stored was acked (not left to redeliver), what was not is queued.
    assert stored < 60 and stored + left == 60, (stored, left)


def _invoke(args: list[str]) -> str:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


async def test_index_path_still_scans_and_list_json_has_its_sweep_keys(native_dsn, images, rabbitmq_url):
    import json

    lcys = str(images / "l_cysteine")
    # `mxhub index PATH` (options before or after the path) and `mxhub index scan PATH` are one command.
    scanned = json.loads(await asyncio.to_thread(_invoke, ["index", lcys, "--json", "--dsn", native_dsn]))
    again = json.loads(await asyncio.to_thread(_invoke, ["index", "--json", "--dsn", native_dsn, lcys]))
    scan_cmd = json.loads(
        await asyncio.to_thread(_invoke, ["index", "scan", "--json", "--dsn", native_dsn, lcys])
    )
    assert scanned["indexed"] == 60 and again["skipped"] == 60 and scan_cmd["skipped"] == 60
    listed = json.loads(await asyncio.to_thread(_invoke, ["index", "list", "--json", "--dsn", native_dsn]))
    assert set(listed) == {"sweeps"}
    assert [set(s) for s in listed["sweeps"]] == [set(s) for s in scanned["sweeps"]]
    assert listed["sweeps"] == scanned["sweeps"]
    assert [(s["template"], s["first"], s["last"], s["count"]) for s in listed["sweeps"]] == [
        (t, f, last, c) for t, f, last, c in FOUR_SWEEPS
    ]
    text = await asyncio.to_thread(_invoke, ["index", "list", "--dsn", native_dsn])
    assert text.count("(15 rotation)") == 4


async def test_publish_command_posts_one_request(rabbitmq_url, index_queue, images):
    import json

    env = {"MXHUB_BROKER_URL": rabbitmq_url, "MXHUB_INDEX_QUEUE": index_queue}
    paths = [str(images / "l_cysteine"), str(images / "thaumatin_grid")]
    result = await asyncio.to_thread(
        lambda: CliRunner().invoke(main, ["index", "publish", *paths, "--collection", "42"], env=env)
    )
    assert result.exit_code == 0, result.output
    connection = await aio_pika.connect(rabbitmq_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(index_queue, durable=True)
        message = await queue.get(no_ack=True, fail=False)
        assert message is not None and await queue.get(no_ack=True, fail=False) is None
    assert message.content_type == "application/json"
    assert json.loads(message.body) == {"paths": paths, "collection": "42"}


def test_worker_requires_roots():
    result = CliRunner().invoke(main, ["index", "worker"], env={"MXHUB_INDEX_ROOTS": ""})
    assert result.exit_code == 2 and "--root" in result.output
