"""The index worker when its broker goes away and comes back (issue 18, "Bad input: ... a broker that goes
away and comes back — logged, dead-lettered or retried; the worker never dies").

The broker drops every client connection (`rabbitmqctl close_all_connections`, what a broker restart or a
network cut looks like to a client); requests published afterwards are still indexed by the same worker,
each file once. Expected sweeps come from the fixture's file names (l-cyst_0N_#####.cbf, 15 images each).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from site_adapter.indexer.requests import IndexRequest
from site_adapter.indexer.worker import WorkerSettings, publish
from tests.fixtures.rabbitmq import drain_failed
from tests.site_adapter.indexer.test_worker import Running, _file_rows, _sweeps, _until


def _drop_every_connection() -> None:
    """Ask the local broker to close every client connection; skip (outside CI) when we cannot."""
    tool = shutil.which("rabbitmqctl")
    reason = "rabbitmqctl is not available to drop the broker's connections"
    if tool is not None:
        done = subprocess.run(
            [tool, "close_all_connections", "mxhub test: the broker goes away"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode == 0:
            return
        reason = f"rabbitmqctl close_all_connections failed: {done.stderr.strip() or done.stdout.strip()}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


async def test_a_worker_outlives_its_broker_dropping_every_connection(
    rabbitmq_url, index_queue, native_dsn, images, tmp_path
):
    if os.environ.get("MXHUB_TEST_BROKER_URL"):
        pytest.skip("the broker is not the local one rabbitmqctl controls")
    src = images / "l_cysteine"
    first, second = tmp_path / "sweep1", tmp_path / "sweep2"
    for folder, sweep in ((first, "01"), (second, "02")):
        folder.mkdir()
        for p in sorted(src.glob(f"l-cyst_{sweep}_*.cbf")):
            (folder / p.name).symlink_to(p)
    settings = WorkerSettings(
        dsn=native_dsn, roots=(str(tmp_path), str(images)), broker=rabbitmq_url, queue=index_queue
    )
    async with Running(settings) as running:
        await publish(rabbitmq_url, index_queue, IndexRequest((str(first),)))

        async def one() -> bool:
            return running.finished() >= 1

        await _until(one, "the first request to be acked")
        await asyncio.to_thread(_drop_every_connection)
        # The worker's connection is gone; it reconnects and consumes what is published next.
        await publish(rabbitmq_url, index_queue, IndexRequest((str(second),)))

        async def two() -> bool:
            return running.finished() >= 2

        await _until(two, "the request published after the broker dropped the worker")
        assert not running.task.done()  # the worker never died
    rows = await _file_rows(native_dsn)
    expected = sorted(str(p) for folder in (first, second) for p in folder.iterdir())
    assert [p for p, _ in rows] == expected and all(e is None for _, e in rows)
    assert await _sweeps(native_dsn) == [(f"l-cyst_0{k}_#####.cbf", 1, 15, 15) for k in (1, 2)]
    assert await drain_failed(rabbitmq_url, index_queue) == []
