"""The hub's Prometheus metrics (GET /metrics): requests and latency by operation, calls to each site
(latency, errors, timeouts), refusals for the rate limit, the registry's connection pool.

One CollectorRegistry per app, so several hubs in one process (tests) never clash. Counts only: what is
counted is decided where it happens (endpoint.py, client.py, callers.py).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Iterator

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

# Seconds: from a cached page (ms) to a site at its timeout (10 s by default).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class HubMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "mxhub_hub_requests",
            "GraphQL requests the hub answered, by root field and HTTP status",
            ["operation", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mxhub_hub_request_seconds",
            "Time to answer a GraphQL request at the hub, in seconds, by root field",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.site_calls = Counter(
            "mxhub_hub_site_calls",
            "Requests the hub sent to a site, by outcome (ok, error, timeout, unavailable)",
            ["site", "outcome"],
            registry=self.registry,
        )
        self.site_latency = Histogram(
            "mxhub_hub_site_call_seconds",
            "Time a site took to answer the hub, in seconds",
            ["site"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.site_reports = Counter(
            "mxhub_hub_site_answers",
            "What each site gave the requests that asked it, as the answers' extensions.sites report it "
            "(ok, error, timeout -- the soft deadline included --, unavailable, down)",
            ["site", "status"],
            registry=self.registry,
        )
        self.shared_calls = Counter(
            "mxhub_hub_site_calls_shared",
            "Calls to sites answered by an identical call already in flight in another hub process",
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "mxhub_hub_rate_limited", "Requests refused for the caller's rate limit", registry=self.registry
        )

    def watch_pool(self, name: str, pool: Callable[[], asyncpg.Pool | None]) -> None:
        """Report an asyncpg pool's size, idle and maximum connections at each scrape."""
        self.registry.register(PoolCollector(name, pool))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class PoolCollector(Collector):
    """An asyncpg pool's connections, read when scraped (a pool not yet open shows nothing)."""

    def __init__(self, name: str, pool: Callable[[], asyncpg.Pool | None]) -> None:
        self.name = name
        self.pool = pool

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            pool = self.pool()
        except RuntimeError:  # not started
            pool = None
        family = GaugeMetricFamily(
            "mxhub_db_pool_connections", "Database pool connections by state", labels=["pool", "state"]
        )
        if pool is not None:
            size, idle = pool.get_size(), pool.get_idle_size()
            family.add_metric([self.name, "in_use"], size - idle)
            family.add_metric([self.name, "idle"], idle)
            family.add_metric([self.name, "max"], pool.get_max_size())
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())


def metrics_endpoint(metrics: HubMetrics, token: str | None) -> Callable[[Request], Awaitable[Response]]:
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
