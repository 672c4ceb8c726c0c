"""The index worker in this process against the real RabbitMQ and a real PostgreSQL site store (issue 18):
requests indexed through scan.run_scan, dead letters with reasons, a worker that outlives bad requests.
Expected sweeps come from the fixture's file names (l-cyst_0N_#####.cbf, 15 images each)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from site_adapter.indexer.metrics import WorkerMetrics
from site_adapter.indexer.requests import IndexRequest, Rejected, check_roots, parse_request
from site_adapter.indexer.worker import IndexWorker, WorkerSettings, publish
from tests.fixtures.rabbitmq import drain_failed, publish_raw

LIMIT = 120.0  # seconds: a generous bound for a condition, never an assertion on time


async def _until(condition, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LIMIT
    while not await condition():
        if loop.time() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


def _value(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    v = metrics.registry.get_sample_value(name, labels)
    return v or 0.0


class Running:
    """A worker running in this event loop until the test leaves the block; the stop drains it."""

    def __init__(self, settings: WorkerSettings) -> None:
        self.metrics = WorkerMetrics()
        self.worker = IndexWorker(settings, self.metrics)
        self.stop = asyncio.Event()

    async def __aenter__(self) -> Running:
        self.task = asyncio.create_task(self.worker.run(self.stop))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, LIMIT)

    def finished(self) -> float:
        return _value(self.metrics, "mxhub_index_messages_total", outcome="acked") + _value(
            self.metrics, "mxhub_index_messages_total", outcome="dead_lettered"
        )


async def _sweeps(dsn: str) -> list[tuple[str, int, int, int]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT template, first_image, last_image, image_count FROM image_set ORDER BY template"
        )
    finally:
        await conn.close()
    return [(r["template"], r["first_image"], r["last_image"], r["image_count"]) for r in rows]


async def _file_rows(dsn: str) -> list[tuple[str, str | None]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT path, error FROM image_file ORDER BY path")
    finally:
        await conn.close()
    return [(r["path"], r["error"]) for r in rows]


FOUR_SWEEPS = [(f"l-cyst_0{k}_#####.cbf", 1, 15, 15) for k in range(1, 5)]


async def test_published_requests_end_as_four_sweeps_of_fifteen(
    rabbitmq_url, index_queue, native_dsn, images
):
    lcys = images / "l_cysteine"
    files = sorted(lcys.glob("*.cbf"))
    assert len(files) == 60
    settings = WorkerSettings(
        dsn=native_dsn, roots=(str(images),), broker=rabbitmq_url, queue=index_queue, concurrency=3
    )
    # The directory once, and sweep 2's files again one by one (as a beamline re-announcing them would):
    # the store keeps every file once and each directory's sweeps from all its files.
    requests = [IndexRequest((str(lcys),), "11")] + [
        IndexRequest((str(p),)) for p in files if "_02_" in p.name
    ]
    for r in requests:
        await publish(rabbitmq_url, index_queue, r)
    async with Running(settings) as running:

        async def done() -> bool:
            return running.finished() >= len(requests)

        await _until(done, "every request to be acked")
    rows = await _file_rows(native_dsn)
    assert [p for p, _ in rows] == sorted(str(p) for p in files)
    assert all(error is None for _, error in rows)
    assert await _sweeps(native_dsn) == FOUR_SWEEPS
    assert _value(running.metrics, "mxhub_index_messages_total", outcome="acked") == len(requests)
    assert _value(running.metrics, "mxhub_index_messages_total", outcome="dead_lettered") == 0
    assert _value(running.metrics, "mxhub_index_files_total", outcome="indexed") >= 60
    assert await drain_failed(rabbitmq_url, index_queue) == []


async def test_damaged_file_is_dead_lettered_with_its_reason_and_the_rest_indexed(
    rabbitmq_url, index_queue, native_dsn, images, tmp_path
):
    src = images / "l_cysteine"
    data = tmp_path / "data"
    data.mkdir()
    good = sorted(src.glob("l-cyst_01_*.cbf"))
    for p in good[1:]:
        (data / p.name).symlink_to(p)
    # Image 1 cut to 100 kB: its binary section claims more bytes than the file holds.
    cut = data / good[0].name
    cut.write_bytes(good[0].read_bytes()[:100_000])
    settings = WorkerSettings(
        dsn=native_dsn, roots=(str(tmp_path), str(images)), broker=rabbitmq_url, queue=index_queue
    )
    await publish(rabbitmq_url, index_queue, IndexRequest((str(data),), "11"))
    async with Running(settings) as running:

        async def done() -> bool:
            return running.finished() >= 1

        await _until(done, "the request to finish")
    letters = await drain_failed(rabbitmq_url, index_queue)
    assert len(letters) == 1
    headers, body = letters[0]["headers"], letters[0]["body"]
    assert headers["x-mxhub-kind"] == "corrupt"
    assert str(cut) in headers["x-mxhub-reason"] and "truncated" in headers["x-mxhub-reason"]
    assert body["paths"] == [str(cut)] and body["collection"] == "11"
    assert body["failed"][0]["reason"].startswith("truncated")
    assert parse_request(json.dumps(body).encode(), "application/json").paths == (str(cut),)
    assert await _sweeps(native_dsn) == [("l-cyst_01_#####.cbf", 2, 15, 14)]
    assert _value(running.metrics, "mxhub_index_failures_total", reason="corrupt") == 1


BAD = [
    (b"not json at all", "application/json", "not UTF-8 JSON"),
    (b'{"paths": "/x"}', "application/json", "non-empty list"),
    (b'["/x"]', "application/json", "JSON object"),
    (b'{"paths": ["relative/x"]}', "application/json", "not absolute"),
    (b'{"paths": ["/x"]}', "text/plain", "content type"),
    (b'{"paths": ["/x"]}', None, "content type"),
    (b"\xff\xfe", "application/json", "not UTF-8 JSON"),
]


async def test_malformed_and_outside_roots_are_dead_lettered_and_the_worker_lives_on(
    rabbitmq_url, index_queue, native_dsn, images, tmp_path
):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    lcys = images / "l_cysteine"
    settings = WorkerSettings(dsn=native_dsn, roots=(str(lcys),), broker=rabbitmq_url, queue=index_queue)
    for body, content_type, _ in BAD:
        await publish_raw(rabbitmq_url, index_queue, body, content_type)
    await publish(rabbitmq_url, index_queue, IndexRequest((str(outside),)))
    await publish(rabbitmq_url, index_queue, IndexRequest((str(lcys) + "/../../../../etc",)))
    # After all of that, a good request is still indexed by the same worker.
    await publish(rabbitmq_url, index_queue, IndexRequest(tuple(str(p) for p in sorted(lcys.glob("*_03_*")))))
    total = len(BAD) + 3
    async with Running(settings) as running:

        async def done() -> bool:
            return running.finished() >= total

        await _until(done, "every request to finish")
        assert not running.task.done()  # the worker is still consuming
    letters = await drain_failed(rabbitmq_url, index_queue)
    assert len(letters) == len(BAD) + 2
    for letter, (body, content_type, why) in zip(letters, BAD, strict=False):
        assert letter["headers"]["x-mxhub-kind"] == "malformed"
        assert (letter["raw"], letter["content_type"]) == (body, content_type)  # as received
        assert why in letter["headers"]["x-mxhub-reason"]
        assert letter["headers"]["x-mxhub-queue"] == index_queue
    refused = letters[len(BAD) :]
    assert [x["headers"]["x-mxhub-kind"] for x in refused] == ["outside_roots", "outside_roots"]
    assert str(outside) in refused[0]["headers"]["x-mxhub-reason"]
    assert refused[0]["body"] == {"paths": [str(outside)], "collection": None}  # the request as sent
    assert await _sweeps(native_dsn) == [("l-cyst_03_#####.cbf", 1, 15, 15)]
    assert _value(running.metrics, "mxhub_index_messages_total", outcome="acked") == 1


async def test_metrics_are_prometheus_text_with_mxhub_names(rabbitmq_url, index_queue, native_dsn, images):
    import urllib.request

    from site_adapter.indexer.metrics import serve

    settings = WorkerSettings(
        dsn=native_dsn,
        roots=(str(images),),
        broker=rabbitmq_url,
        queue=index_queue,
        depth_interval=0.2,
    )
    await publish(rabbitmq_url, index_queue, IndexRequest((str(images / "l_cysteine/l-cyst_04_00001.cbf"),)))
    async with Running(settings) as running:
        server, _ = serve(running.metrics, 0)
        try:

            async def done() -> bool:
                return running.finished() >= 1

            await _until(done, "the request to finish")
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            text = await asyncio.to_thread(lambda: urllib.request.urlopen(url, timeout=30).read().decode())
        finally:
            server.shutdown()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families and all(name.startswith("mxhub_") for name in families)
    assert families["mxhub_index_files"].type == "counter"
    indexed = [s for s in families["mxhub_index_files"].samples if s.name == "mxhub_index_files_total"]
    assert {s.labels["outcome"]: s.value for s in indexed}["indexed"] == 1
    assert families["mxhub_index_queue_depth"].type == "gauge"
    assert {"mxhub_index_messages", "mxhub_index_failures", "mxhub_index_in_flight"} <= set(families)


def test_request_rules_without_a_broker(tmp_path: Path):
    assert parse_request(b'{"paths": ["/a"], "collection": 7}', "application/json; charset=utf-8") == (
        IndexRequest(("/a",), "7")
    )
    with pytest.raises(Rejected) as caught:
        parse_request(b'{"paths": ["/a"], "collection": {}}', "application/json")
    assert caught.value.kind == "malformed"
    inside = tmp_path / "root" / "x"
    inside.mkdir(parents=True)
    check_roots([str(inside)], [str(tmp_path / "root")])
    (tmp_path / "root" / "escape").symlink_to("/etc")
    for bad in (str(tmp_path / "root" / "escape"), str(tmp_path / "root/../other"), "/etc/passwd"):
        with pytest.raises(Rejected) as caught:
            check_roots([bad], [str(tmp_path / "root")])
        assert caught.value.kind == "outside_roots"


async def test_batched_per_file_requests_dead_letter_only_the_damaged_one(
    rabbitmq_url, index_queue, native_dsn, images, tmp_path
):
    src = sorted((images / "l_cysteine").glob("l-cyst_02_*.cbf"))
    data = tmp_path / "data"
    data.mkdir()
    for p in src:
        (data / p.name).symlink_to(p)
    cut = data / src[7].name
    cut.unlink()
    cut.write_bytes(src[7].read_bytes()[:50_000])
    for p in sorted(data.iterdir()):
        await publish(rabbitmq_url, index_queue, IndexRequest((str(p),), "12"))
    settings = WorkerSettings(
        dsn=native_dsn,
        roots=(str(tmp_path), str(images)),
        broker=rabbitmq_url,
        queue=index_queue,
        concurrency=1,
        batch=8,
    )
    async with Running(settings) as running:

        async def done() -> bool:
            return running.finished() >= 15

        await _until(done, "all 15 requests to finish")
    letters = await drain_failed(rabbitmq_url, index_queue)
    assert [x["body"]["paths"] for x in letters] == [[str(cut)]]
    assert letters[0]["body"]["collection"] == "12"
    assert _value(running.metrics, "mxhub_index_messages_total", outcome="acked") == 14
    # Image 8 is missing from the sweep; the other 14 are one sweep with a gap.
    assert await _sweeps(native_dsn) == [("l-cyst_02_#####.cbf", 1, 15, 14)]


async def test_store_down_is_retried_not_dead_lettered_and_stop_returns_the_request(
    rabbitmq_url, index_queue, images
):
    from tests.fixtures.rabbitmq import queue_depth

    # Nothing listens on port 1: every connection is refused, as when the store is down.
    settings = WorkerSettings(
        dsn="postgresql://postgres@127.0.0.1:1/none",
        roots=(str(images),),
        broker=rabbitmq_url,
        queue=index_queue,
        backoff_max=0.5,
    )
    await publish(rabbitmq_url, index_queue, IndexRequest((str(images / "l_cysteine"),)))
    async with Running(settings) as running:

        async def retried() -> bool:
            return _value(running.metrics, "mxhub_index_failures_total", reason="transient") >= 3

        await _until(retried, "the store to be retried")
        assert running.finished() == 0
    # Stopping gave the request back to the queue: neither acked nor dead-lettered.
    assert await queue_depth(rabbitmq_url, index_queue) == 1
    assert await drain_failed(rabbitmq_url, index_queue) == []


async def test_two_workers_sharing_a_queue_store_each_file_once(
    rabbitmq_url, index_queue, native_dsn, images
):
    files = sorted((images / "l_cysteine").glob("*.cbf"))
    for p in files:
        await publish(rabbitmq_url, index_queue, IndexRequest((str(p),)))
    settings = WorkerSettings(
        dsn=native_dsn, roots=(str(images),), broker=rabbitmq_url, queue=index_queue, concurrency=2, batch=4
    )
    # Two workers (as on two machines) rebuild the same directories' sweeps at once: the store's
    # per-directory lock leaves the sweeps of all files, whichever worker finishes last.
    async with Running(settings) as one, Running(settings) as two:

        async def done() -> bool:
            return one.finished() + two.finished() >= len(files)

        await _until(done, "all 60 requests to finish")
    assert one.finished() > 0 and two.finished() > 0  # both took part
    rows = await _file_rows(native_dsn)
    assert [p for p, _ in rows] == [str(p) for p in files]
    assert await _sweeps(native_dsn) == FOUR_SWEEPS
