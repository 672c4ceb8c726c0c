"""The index worker's Prometheus metrics (issue 18): one registry per worker, served at GET /metrics.

Only the worker's own counters live here; the hub's and the sites' metrics are elsewhere. Names start
with `mxhub_index_`; rates (files/s) are a PromQL `rate()` over the counters, never computed here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

# Why a file or a request was not indexed: bounded label values, so a metric cannot grow per path.
REASONS = ("corrupt", "unreadable", "malformed", "outside_roots", "internal", "transient")


def _registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@dataclass
class WorkerMetrics:
    """Counters and gauges a worker updates; `registry` is what /metrics exposes."""

    registry: CollectorRegistry = field(default_factory=_registry)

    def __post_init__(self) -> None:
        r = self.registry
        self.queue_depth = Gauge(
            "mxhub_index_queue_depth",
            "Index requests waiting in the queue (as the broker last reported), by queue.",
            ["queue"],
            registry=r,
        )
        self.in_flight = Gauge(
            "mxhub_index_in_flight", "Index requests this worker is processing now.", registry=r
        )
        self.files = Counter(
            "mxhub_index_files",
            "Image files handled, by outcome: indexed (read and stored), skipped (unchanged since "
            "stored), failed (recorded with a reason). rate() gives files per second.",
            ["outcome"],
            registry=r,
        )
        self.failures = Counter(
            "mxhub_index_failures",
            "Files and requests that could not be indexed, by reason: corrupt or unreadable files, "
            "malformed requests, paths outside the roots, internal errors, transient (store or broker "
            "down; retried).",
            ["reason"],
            registry=r,
        )
        self.messages = Counter(
            "mxhub_index_messages",
            "Index requests finished, by outcome: acked (indexed), dead_lettered (sent to <queue>.failed "
            "with a reason; acked too).",
            ["outcome"],
            registry=r,
        )
        for outcome in ("indexed", "skipped", "failed"):
            self.files.labels(outcome)
        for reason in REASONS:
            self.failures.labels(reason)
        for outcome in ("acked", "dead_lettered"):
            self.messages.labels(outcome)


def serve(metrics: WorkerMetrics, port: int, host: str = "127.0.0.1") -> tuple[WSGIServer, threading.Thread]:
    """Serve the registry in Prometheus text format on a daemon thread; port 0 picks a free port
    (read it from the returned server's `server_port`)."""
    server, thread = start_http_server(port, addr=host, registry=metrics.registry)
    return server, thread
