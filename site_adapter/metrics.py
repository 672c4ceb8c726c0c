"""Prometheus metrics of a site adapter or a LIMS source (GET /metrics): requests and latency by GraphQL
root field, the store's connection pool, and what the app asks to watch (a LIMS its lookups).

One CollectorRegistry per app (several apps in one test process never clash). The hub has its own
module (mx_hub.metrics): the two import prometheus_client, which mx_schema may not, and neither may import
the other; what they share without it -- the bounded operation label -- is in mx_schema.operations.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)  # s


class SiteMetrics:
    """`role` names the series: mxhub_site_* for a site adapter, mxhub_lims_* for a LIMS source."""

    def __init__(self, role: str = "site") -> None:
        self.role = role
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"mxhub_{role}_requests",
            "GraphQL requests answered, by root field and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"mxhub_{role}_request_seconds",
            "Time to answer a GraphQL request, in seconds, by root field",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )

    def watch_pool(self, name: str, pool: Callable[[], Any]) -> None:
        """Report a pool's connections (asyncpg or asyncmy) at each scrape."""
        self.registry.register(_PoolCollector(name, pool))

    def watch_count(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A counter kept elsewhere (e.g. the LIMS store's lookups), read at each scrape."""
        self.registry.register(_Read(name, documentation, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def pool_usage(pool: Any) -> tuple[int, int, int] | None:
    """(in use, idle, maximum) connections of an asyncpg or asyncmy pool; None for anything else."""
    if pool is None:
        return None
    if hasattr(pool, "get_idle_size"):  # asyncpg.Pool
        size, idle, most = pool.get_size(), pool.get_idle_size(), pool.get_max_size()
    elif hasattr(pool, "freesize"):  # asyncmy.Pool
        size, idle, most = pool.size, pool.freesize, pool.maxsize
    else:
        return None
    return size - idle, idle, most


class _PoolCollector(Collector):
    def __init__(self, name: str, pool: Callable[[], Any]) -> None:
        self.name = name
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "mxhub_db_pool_connections", "Database pool connections by state", labels=["pool", "state"]
        )
        try:
            usage = pool_usage(self.pool())
        except Exception:  # noqa: BLE001 - a store not started (or closed) has no pool to show
            usage = None
        if usage is not None:
            for state, value in zip(("in_use", "idle", "max"), usage, strict=True):
                family.add_metric([self.name, state], value)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


class _Read(Collector):
    def __init__(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        self.name = name
        self.documentation = documentation
        self.read = read

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(self.name, self.documentation, value=self.read())

    def describe(self) -> Iterator[CounterMetricFamily]:
        return iter(())


def metrics_endpoint(metrics: SiteMetrics, token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """GET /metrics in Prometheus's text format; with a token, only for `Authorization: Bearer <token>`."""

    async def endpoint(request: Request) -> Response:
        if token is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
            if not hmac.compare_digest(given.encode(), token.encode()):
                return PlainTextResponse(
                    "metrics need the metrics token (Authorization: Bearer ...)",
                    status_code=401,
                    headers={"www-authenticate": "Bearer"},
                )
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return endpoint
