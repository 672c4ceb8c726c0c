"""The LIMS source as an ASGI app: /graphql (federation subgraph), /health, /ready, /metrics.

It owns the store's lifetime unless told not to; it shares the site's GraphQL-over-HTTP view and knows no SQL.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mx_schema import collector
from mx_schema.ids import SITE_NAME
from mx_schema.oidc import OidcVerifier
from site_adapter.access import AccessPolicy
from site_adapter.backends.base import BackendError
from site_adapter.graphql.view import GraphQLView
from site_adapter.lims.schema import LIMS_SCHEMA_VERSION, LimsContext
from site_adapter.lims.schema import schema as lims_schema
from site_adapter.lims.store import LimsStore
from site_adapter.metrics import SiteMetrics, metrics_endpoint


def create_lims_app(
    store: LimsStore,
    *,
    name: str = "lims",
    manage_store: bool = True,
    trusted_keys: Sequence[Any] | None = None,
    oidc: OidcVerifier | None = None,
    metrics_token: str | None = None,
) -> Starlette:
    """An app serving `store` as LIMS source `name`; it starts and closes the store unless told not to.

    With `trusted_keys` (hub public keys) it answers only requests a trusted hub vouches for
    (X-MXHub-Caller), the way `mxhub lims serve` runs it; without them anyone who reaches it is answered.
    With `oidc` (the facility's issuer, behind the facility's own router: issue 20) it also answers
    requests carrying a valid access token of that issuer, and refuses those without one.
    """
    if not SITE_NAME.match(name):
        raise ValueError(f"LIMS name {name!r} must be lower-case letters, digits, '-' or '_'")

    def make_context(request: Request) -> LimsContext:
        return LimsContext(site=name, store=store)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "lims": name, "schemaVersion": LIMS_SCHEMA_VERSION})

    async def ready(request: Request) -> JSONResponse:
        try:
            await store.ping()
        except BackendError as exc:
            return JSONResponse({"status": "unavailable", "lims": name, "reason": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "lims": name})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if manage_store:
            await store.start()
        collector.tune()  # started: what is alive now lives as long as the LIMS (mx_schema/collector.py)
        try:
            yield
        finally:
            if manage_store:
                await store.close()

    policy = (
        AccessPolicy(trusted_keys=list(trusted_keys or ()), require_caller=True, oidc=oidc)
        if trusted_keys is not None or oidc is not None
        else None
    )
    metrics = SiteMetrics("lims")
    metrics.watch_pool("lims", lambda: store.pool)
    metrics.watch_count(
        "mxhub_lims_lookups",
        "Crystal keys the LIMS was asked to look up (uuid, pin, plate well drop)",
        lambda: store.lookups,
    )
    metrics.watch_count(
        "mxhub_lims_lookup_records", "Crystal records the LIMS's lookups found", lambda: store.lookup_records
    )
    view = GraphQLView(lims_schema, make_context, policy, metrics=metrics)
    app = Starlette(
        routes=[
            *view.routes("/graphql"),
            Route("/health", health),
            Route("/ready", ready),
            Route("/metrics", metrics_endpoint(metrics, metrics_token)),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    return app
