"""The site adapter as an ASGI app: /graphql (federation subgraph), /health, /ready, /metrics, /files/...,
/previews/... (issues 16, 18, 22).

The app owns the backend's lifetime; it knows the Backend protocol, never a store's SQL.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.dataloader import DataLoader

from mx_schema import SCHEMA_VERSION, collector
from mx_schema.ids import SITE_NAME
from mx_schema.versioning import resolve_version
from site_adapter.access import AccessPolicy
from site_adapter.backends.base import Backend, BackendError
from site_adapter.files import FileRoots, file_routes
from site_adapter.graphql import images
from site_adapter.graphql.context import SiteContext, SiteServices, make_loaders
from site_adapter.graphql.preview_http import PreviewRoutes
from site_adapter.graphql.schema import schema as site_schema
from site_adapter.graphql.view import GraphQLView, OlderVersion
from site_adapter.metrics import SiteMetrics, metrics_endpoint

log = logging.getLogger("mxhub.site")


def create_app(
    backend: Backend,
    *,
    site: str,
    services: SiteServices | None = None,
    manage_backend: bool = True,
    access_policy: AccessPolicy | None = None,
    schema_version: str | None = None,
    metrics_token: str | None = None,
) -> Starlette:
    """An app serving `backend` as site `site`; it starts and closes the backend unless told not to.

    With an access policy every request is scoped to the caller the trusted hub vouches for (anonymous
    without a token); without one the site trusts its network and shows everything. `schema_version`
    (e.g. "1.0") serves an older minor version kept in mx_schema's versions/ as a site of that version
    would (docs/facility.md, "Versions"); a version not kept is a ValueError. `metrics_token`: GET
    /metrics asks for it as a bearer token (open without it; docs/operations.md).
    """
    if not SITE_NAME.match(site):
        raise ValueError(f"site name {site!r} must be lower-case letters, digits, '-' or '_'")
    older = _older_version(schema_version)
    served_version = older.version if older is not None else SCHEMA_VERSION
    given = services or SiteServices()
    roots = given.file_roots or FileRoots()

    def make_context(request: Request) -> SiteContext:
        services = given
        if services.image_pool is None and backend.kind == "native":
            # The native store holds the indexer's image sets too (migration 002).
            services = dataclasses.replace(given, image_pool=getattr(backend, "pool", None))
        pool = services.image_pool
        loaders = make_loaders(
            backend,
            {
                "image_sets": DataLoader(load_fn=images.loader_for(pool)),
                "first_headers": DataLoader(load_fn=images.header_loader_for(pool)),
            },
        )
        return SiteContext(
            site=site, backend=backend, schema_version=served_version, loaders=loaders, services=services
        )

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "site": site, "schemaVersion": served_version})

    async def ready(request: Request) -> JSONResponse:
        try:
            await backend.ping()
        except BackendError as exc:
            return JSONResponse({"status": "unavailable", "site": site, "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "site": site, "backend": backend.kind})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_backend:
            await backend.start()
        collector.tune()  # started: what is alive now lives as long as the site (mx_schema/collector.py)
        try:
            yield
        finally:
            if manage_backend:
                await backend.close()

    metrics = SiteMetrics("site")
    metrics.watch_pool(backend.kind, lambda: store_pool(backend))
    view = GraphQLView(site_schema, make_context, access_policy, older, metrics)
    previews = PreviewRoutes(
        site,
        backend,
        lambda: given.image_pool or (getattr(backend, "pool", None) if backend.kind == "native" else None),
        access_policy,
    )
    app = Starlette(
        routes=[
            *view.routes("/graphql"),
            Route("/health", health),
            Route("/ready", ready),
            *previews.routes(),  # issue 22: /previews/{image set id}/...
            *file_routes(backend, site, access_policy, roots),  # GET /files/{id} (docs/files.md)
            Route("/metrics", metrics_endpoint(metrics, metrics_token)),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app


def store_pool(backend: Backend) -> object:
    """The backend's connection pool, for metrics (None when it has none open)."""
    holder = getattr(backend, "db", backend)  # the ISPyB backend keeps its pool in its Database
    try:
        return getattr(holder, "pool", None)
    except BackendError:  # not started
        return None


def _older_version(schema_version: str | None) -> OlderVersion | None:
    """The older minor version to serve, or None for the current (ValueError: a version not kept)."""
    if schema_version is None or resolve_version(schema_version) == SCHEMA_VERSION:
        return None
    return OlderVersion(schema_version)
