"""The hub's small HTTP routes beside /graphql: /health (alive), /ready (registry reachable, each
source's status), /hub-key (the public key sites trust) and GraphiQL's files. Read-only."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mx_hub import trust
from mx_hub.registry import Registry
from mx_hub.runtime import Runtime
from mx_schema import SCHEMA_VERSION, graphiql

log = logging.getLogger("mxhub.hub")


async def graphiql_asset(request: Request) -> Response:
    """A file of the GraphiQL page, from the package (mx_schema.graphiql): it works offline."""
    found = graphiql.asset(request.path_params["name"])
    if found is None:
        return PlainTextResponse("not found", status_code=404)
    return FileResponse(
        found[0], media_type=found[1], headers={"cache-control": graphiql.ASSET_CACHE_CONTROL}
    )


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "role": "hub", "schemaVersion": SCHEMA_VERSION})


def status_routes(registry: Registry, runtime: Runtime) -> list[Route]:
    async def hub_key(request: Request) -> Response:
        if runtime.key is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return PlainTextResponse(
            trust.public_pem(runtime.key),
            media_type="application/x-pem-file",
            headers={"x-mxhub-key-id": trust.key_id(runtime.key)},
        )

    async def ready(request: Request) -> JSONResponse:
        try:
            await registry.pool.fetchval("SELECT 1")
            await registry.sync()
        except Exception as exc:  # noqa: BLE001 - any failure of the registry means not ready
            log.warning("registry not ready: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        sites = registry.sites(kind=None)
        return JSONResponse({"status": "ready", "sites": {s.name: s.status for s in sites}})

    return [
        Route(f"/{graphiql.PREFIX}/{{name}}", graphiql_asset, methods=["GET", "HEAD"]),
        Route("/health", health),
        Route("/ready", ready),
        Route("/hub-key", hub_key),
    ]
