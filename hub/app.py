"""The hub as an ASGI app, composed: the GraphQL endpoint (endpoint.py) behind the caller gate
(callers.py), the status routes (routes.py), /metrics (metrics.py), the search page (web.py), and a
lifespan that opens the shared state (shared.py) and the registry, loads the signing key, starts the site
client and the health checks (health.py).

Composes only; each part does its job in its own module.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.routing import Route

from mx_hub import trust
from mx_hub.auth import ApiTokens
from mx_hub.callers import Gate
from mx_hub.client import SiteClient
from mx_hub.endpoint import GraphQLEndpoint
from mx_hub.files import file_routes
from mx_hub.health import health_loop
from mx_hub.landing import landing_routes
from mx_hub.metrics import HubMetrics, metrics_endpoint
from mx_hub.panosc.routes import panosc_routes
from mx_hub.previews import preview_routes
from mx_hub.registry import Registry
from mx_hub.resolvers import bind_resolvers
from mx_hub.routes import status_routes
from mx_hub.runtime import Runtime
from mx_hub.sdl import hub_schema
from mx_hub.settings import HubSettings
from mx_hub.shared import SharedState, shared_state
from mx_hub.web import web_routes
from mx_schema import collector

log = logging.getLogger("mxhub.hub")


def create_app(registry_dsn: str, settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    shared = shared_state(settings.redis_url, registry_dsn, settings.rate_limit)
    metrics = HubMetrics()
    registry = Registry(registry_dsn)
    registry.shared = shared
    metrics.watch_pool("registry", lambda: registry.pool)
    runtime = Runtime()
    api_tokens = ApiTokens(lambda: registry.pool)
    gate = Gate(settings, api_tokens, shared, metrics)
    endpoint = GraphQLEndpoint(bind_resolvers(hub_schema()), registry, settings, api_tokens, gate, runtime)
    endpoint.metrics = metrics
    app = Starlette(
        routes=[
            Route("/graphql", endpoint.handle_request, methods=["GET", "POST"]),
            Route("/metrics", metrics_endpoint(metrics, settings.metrics_token)),
            *status_routes(registry, runtime),
            *web_routes(),
            *preview_routes(registry, runtime, gate),  # GET /previews/{image set id}/...: docs/previews.md
            *file_routes(registry, runtime, gate),  # GET /files/{id}: a site's file, streamed (docs/files.md)
            *landing_routes(endpoint),  # issue 19: FAIR landing pages
            *panosc_routes(endpoint),  # issue 19: the PaNOSC search-api provider
        ],
        lifespan=_lifespan(registry, runtime, settings, shared, metrics),
    )
    app.state.registry = registry
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.metrics = metrics
    return app


def _lifespan(
    registry: Registry, runtime: Runtime, settings: HubSettings, shared: SharedState, metrics: HubMetrics
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await shared.start()
        await registry.start()
        runtime.key = await trust.load_or_create_key(registry.pool, settings.signing_key)
        log.info("hub signing key %s", trust.key_id(runtime.key))
        runtime.site_client = SiteClient(
            timeout=settings.site_timeout, signing_key=runtime.key, shared=shared, metrics=metrics
        )
        task = (
            asyncio.create_task(
                health_loop(registry, runtime.client, settings.health_interval, settings.site_timeout, shared)
            )
            if settings.health_interval > 0
            else None
        )
        collector.tune()  # started: what is alive now lives as long as the hub (mx_schema/collector.py)
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await runtime.client.close()
            await registry.close()
            await shared.close()

    return lifespan
