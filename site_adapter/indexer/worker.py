"""The index worker (issue 18): consume index requests from a RabbitMQ queue (AMQP 0-9-1, aio-pika) and
run the indexer's own scan (scan.run_scan) on each request's paths. It never indexes any other way.

Delivery is at least once: a message is acked only after its files are committed to the store, and the
store write is idempotent (a file is one row by path; sweeps are rebuilt from the stored files), so a
worker killed mid-request loses nothing and a redelivered request duplicates nothing. A request that can
never succeed (malformed, outside the roots, files corrupt or unreadable) goes to `<queue>.failed` with
its reason and is acked; a store or broker that is down is waited for with backoff. SIGTERM drains.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from site_adapter.indexer.metrics import WorkerMetrics
from site_adapter.indexer.requests import CONTENT_TYPE, IndexRequest, Rejected, check_roots, parse_request

log = logging.getLogger("mxhub.index.worker")

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672/"
DEFAULT_QUEUE = "mxhub.index"
# The store or broker being down, restarting or refusing connections: wait and try again.
TRANSIENT = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    # A deadlock with another worker's write (a redelivered request upserting rows a sweep rebuild
    # holds) aborts one side; the scan is idempotent, so it runs again.
    asyncpg.exceptions.TransactionRollbackError,
)
_UNREADABLE = ("permission denied", "not found", "broken symlink", "symlink", "skipped:")
_HEADER_MAX = 1000  # characters of a reason in a header; the full list is in the dead letter's body


def failed_queue(queue: str) -> str:
    return f"{queue}.failed"


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    dsn: str
    roots: tuple[str, ...]
    broker: str = DEFAULT_BROKER
    queue: str = DEFAULT_QUEUE
    concurrency: int = 1
    batch: int = 32  # requests indexed by one scan (the prefetch is concurrency x batch)
    site: str = "local"
    path_map: tuple[tuple[str, str], ...] = ()
    verify: bool = False
    backoff_max: float = 30.0
    depth_interval: float = 5.0


async def declare(channel: AbstractChannel, queue: str) -> tuple[AbstractQueue, AbstractQueue]:
    """The request queue and its dead-letter queue, durable; publishers and workers declare the same."""
    requests = await channel.declare_queue(queue, durable=True)
    failed = await channel.declare_queue(failed_queue(queue), durable=True)
    return requests, failed


async def publish(broker: str, queue: str, request: IndexRequest) -> None:
    """Post one index request, persistent, and wait for the broker to confirm it."""
    connection = await aio_pika.connect(broker)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await declare(channel, queue)
        await channel.default_exchange.publish(
            aio_pika.Message(
                request.to_body(),
                content_type=CONTENT_TYPE,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=queue,
        )


def _under(path: str, root: str) -> bool:
    root = os.path.abspath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def failure_kind(reason: str) -> str:
    """`unreadable` (the file system refused) or `corrupt` (the file was read and is not a usable image)."""
    return "unreadable" if reason.lower().startswith(_UNREADABLE) else "corrupt"


class Backoff:
    """Exponential waits, 0.5 s doubling to a ceiling; cut short when the worker is told to stop."""

    def __init__(self, ceiling: float, stop: asyncio.Event) -> None:
        self.delay, self.ceiling, self.stop = 0.5, ceiling, stop

    async def wait(self) -> bool:
        """Sleep the next delay; False when stopping (give up)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), self.delay)
        self.delay = min(self.ceiling, self.delay * 2)
        return not self.stop.is_set()


class IndexWorker:
    """One worker process: `await run(stop)` consumes until `stop` is set, then drains and returns."""

    def __init__(self, settings: WorkerSettings, metrics: WorkerMetrics | None = None) -> None:
        if not settings.roots:
            raise ValueError("an index worker needs at least one root (the trees requests may name)")
        self.settings = settings
        self.metrics = metrics or WorkerMetrics()
        self._pool: asyncpg.Pool | None = None
        self._failed_name = failed_queue(settings.queue)
        self._channel: AbstractChannel | None = None
        self._stop = asyncio.Event()
        self._identity = f"{socket.gethostname()}:{os.getpid()}"

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        connection = await self._connect(stop)
        if connection is None:
            return
        depth: asyncio.Task[None] | None = None
        try:
            channel = await connection.channel(publisher_confirms=True)
            # Prefetch bounds memory: a worker holds at most concurrency x batch unacked requests.
            await channel.set_qos(prefetch_count=self.settings.concurrency * self.settings.batch)
            self._channel = channel
            queue, _ = await declare(channel, self.settings.queue)
            # Its own channel: a passive declare that fails closes the channel it is made on.
            depth = asyncio.create_task(self._watch_depth(await connection.channel(), stop))
            await self._consume(queue, stop)
        finally:
            if depth is not None:
                depth.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await depth
            await connection.close()
            if self._pool is not None:
                await self._pool.close()

    async def _connect(self, stop: asyncio.Event) -> AbstractRobustConnection | None:
        backoff = Backoff(self.settings.backoff_max, stop)
        while True:
            try:
                return await aio_pika.connect_robust(self.settings.broker)
            except TRANSIENT + (aio_pika.exceptions.AMQPConnectionError,) as exc:
                self.metrics.failures.labels("transient").inc()
                log.warning("broker %s unreachable (%s); retrying", self.settings.broker, exc)
                if not await backoff.wait():
                    return None

    async def _consume(self, queue: AbstractQueue, stop: asyncio.Event) -> None:
        """Take requests until `stop`, at most `concurrency` batches at once; then cancel the consumer
        (requests received but not started go back to the queue), finish the batches in flight, return.

        A batch is every request already received when a slot frees, up to `batch`: one scan for them
        all, so a beamline that posts one request per image costs one store round per batch, not per
        image. Each request is still acked or dead-lettered by itself."""
        tasks: set[asyncio.Task[None]] = set()
        slots = asyncio.Semaphore(self.settings.concurrency)
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        closing = False

        async def receive(message: AbstractIncomingMessage) -> None:
            if closing:
                await message.nack(requeue=True)
            else:
                inbox.put_nowait(message)

        def finished(task: asyncio.Task[None]) -> None:
            tasks.discard(task)
            slots.release()

        tag = await queue.consume(receive)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not stop.is_set():
                await slots.acquire()
                first = asyncio.ensure_future(inbox.get())
                await asyncio.wait({first, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not first.done():  # stopping (an unfinished Queue.get gives nothing up)
                    first.cancel()
                    slots.release()
                    break
                batch = [first.result()]
                while len(batch) < self.settings.batch and not inbox.empty():
                    batch.append(inbox.get_nowait())
                task = asyncio.create_task(self.handle(batch))
                tasks.add(task)
                task.add_done_callback(finished)
        finally:
            closing = True
            stopping.cancel()
            with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
                await queue.cancel(tag)
            while not inbox.empty():
                with contextlib.suppress(aio_pika.exceptions.AMQPError, RuntimeError):
                    await inbox.get_nowait().nack(requeue=True)
            # In-flight batches finish and are acked on this channel, still open.
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    async def handle(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Index a batch of requests with one scan, then ack each, or dead-letter it with its reason;
        never raises."""
        self.metrics.in_flight.inc(len(messages))
        pending = list(messages)
        try:
            await self._handle(pending)
        except aio_pika.exceptions.AMQPError as exc:  # the broker went away: it redelivers the requests
            log.warning("broker error on a batch (it will be redelivered): %s", exc)
        except Exception as exc:  # a bug must cost its requests, not the worker
            log.exception("batch failed")
            for message in pending:
                self.metrics.failures.labels("internal").inc()
                with contextlib.suppress(Exception):
                    await self._dead_letter(
                        message, "internal", f"internal error: {type(exc).__name__}: {exc}"
                    )
        finally:
            self.metrics.in_flight.dec(len(messages))

    async def _handle(self, pending: list[AbstractIncomingMessage]) -> None:
        """Settle every message of `pending`, removing each from it once acked or dead-lettered."""
        valid: list[tuple[AbstractIncomingMessage, IndexRequest]] = []
        for message in list(pending):
            try:
                request = parse_request(message.body, message.content_type)
                check_roots(request.paths, self.settings.roots)
            except Rejected as exc:
                self.metrics.failures.labels(exc.kind).inc()
                await self._dead_letter(message, exc.kind, exc.reason)
                pending.remove(message)
                continue
            valid.append((message, request))
        if not valid:
            return
        paths = list(dict.fromkeys(os.path.abspath(p) for _, r in valid for p in r.paths))
        summary = await self._index(IndexRequest(tuple(paths)))
        if summary is None:  # stopping while the store is down: another worker (or we, later) retries
            for message, _ in valid:
                await message.nack(requeue=True)
                pending.remove(message)
            return
        self.metrics.files.labels("indexed").inc(summary["indexed"])
        self.metrics.files.labels("skipped").inc(summary["skipped"])
        failed: list[dict[str, str]] = summary["failed"]
        self.metrics.files.labels("failed").inc(len(failed))
        for f in failed:
            self.metrics.failures.labels(failure_kind(f["reason"])).inc()
        for message, request in valid:
            mine = [f for f in failed if any(_under(f["path"], p) for p in request.paths)]
            if mine:
                await self._dead_letter_files(message, request, mine)
            else:
                await message.ack()
                self.metrics.messages.labels("acked").inc()
            pending.remove(message)

    async def _dead_letter_files(
        self, message: AbstractIncomingMessage, request: IndexRequest, failed: list[dict[str, str]]
    ) -> None:
        """The request's files that could not be indexed, as a request for just them, with reasons."""
        reason = "; ".join(f"{f['path']}: {f['reason']}" for f in failed)
        body = {"paths": [f["path"] for f in failed], "collection": request.collection, "failed": failed}
        await self._dead_letter(message, failure_kind(failed[0]["reason"]), reason, json.dumps(body).encode())

    async def _index(self, request: IndexRequest) -> dict[str, Any] | None:
        """scan.run_scan on the request's paths, retried with backoff while the store is unreachable."""
        # While draining, a request whose store is down goes back to the queue instead of holding the exit.
        backoff = Backoff(self.settings.backoff_max, self._stop)
        while True:
            try:
                pool = await self._store()
            except Exception as exc:  # a store that refuses us (auth, no database) is the worker's
                # problem, not the request's: hold it and retry rather than dead-letter every request.
                self.metrics.failures.labels("transient").inc()
                log.error("cannot open the store (%s: %s); retrying", type(exc).__name__, exc)
                if not await backoff.wait():
                    return None
                continue
            try:
                async with pool.acquire() as conn:
                    return await index_request(
                        conn,
                        request,
                        roots=self.settings.roots,
                        site=self.settings.site,
                        path_map=self.settings.path_map,
                        verify=self.settings.verify,
                    )
            except TRANSIENT as exc:
                self.metrics.failures.labels("transient").inc()
                log.warning("store unreachable (%s); retrying", exc)
                if not await backoff.wait():
                    return None

    async def _store(self) -> asyncpg.Pool:
        if self._pool is None:
            from site_adapter.backends.native.migrate import migrate

            pool = await asyncpg.create_pool(
                self.settings.dsn, min_size=1, max_size=self.settings.concurrency
            )
            try:
                async with pool.acquire() as conn:
                    await migrate(conn)
            except BaseException:
                await pool.close()
                raise
            self._pool = pool
        return self._pool

    async def _dead_letter(
        self, message: AbstractIncomingMessage, kind: str, reason: str, body: bytes | None = None
    ) -> None:
        """Publish the request (or, for failed files, a request for just those) to `<queue>.failed` with
        its reason, confirmed by the broker, then ack the original: it is never retried by itself."""
        if self._channel is None:
            raise RuntimeError("no channel")
        headers: dict[str, Any] = {
            "x-mxhub-reason": reason[:_HEADER_MAX],
            "x-mxhub-kind": kind,
            "x-mxhub-queue": self.settings.queue,
            "x-mxhub-worker": self._identity,
        }
        await self._channel.default_exchange.publish(
            aio_pika.Message(
                body if body is not None else message.body,
                content_type=CONTENT_TYPE if body is not None else message.content_type,
                headers=headers,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=self._failed_name,
        )
        await message.ack()
        self.metrics.messages.labels("dead_lettered").inc()
        log.warning("dead-lettered a request to %s: %s", self._failed_name, reason[:300])

    async def _watch_depth(self, channel: AbstractChannel, stop: asyncio.Event) -> None:
        """The queue's depth as the broker reports it (a passive declare), every few seconds."""
        while not stop.is_set():
            try:
                for name in (self.settings.queue, self._failed_name):
                    q = await channel.declare_queue(name, passive=True)
                    count = q.declaration_result.message_count
                    self.metrics.queue_depth.labels(name).set(count or 0)
            except aio_pika.exceptions.AMQPError as exc:
                log.debug("queue depth not read: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.settings.depth_interval)


async def index_request(
    conn: asyncpg.Connection,
    request: IndexRequest,
    *,
    roots: Sequence[str],
    site: str = "local",
    path_map: Sequence[tuple[str, str]] = (),
    verify: bool = False,
    previews: bool = True,
) -> dict[str, Any]:
    """The indexer's scan (scan.run_scan, as `mxhub index` runs it) on a request's paths: the summary
    `mxhub index --json` prints. Links are followed only inside the roots. Previews are made as
    `mxhub index` makes them by default (issue 22: they must outlive the raw files)."""
    from site_adapter.indexer.scan import run_scan

    summary = await run_scan(
        conn,
        list(request.paths),
        verify=verify,
        workers=1,
        path_map=path_map,
        site=site,
        follow_links_into=roots,
        previews=previews,
    )
    return summary.to_dict()


def roots_from(values: Sequence[str]) -> tuple[str, ...]:
    """Absolute roots from options and MXHUB_INDEX_ROOTS (several separated by ':')."""
    return tuple(os.path.abspath(r) for v in values for r in v.split(os.pathsep) if r)
