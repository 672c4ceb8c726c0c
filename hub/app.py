"""The hub as an ASGI app: /graphql (GraphiQL in a browser), /health, /ready, and health checks.

Requests are parsed and validated once per distinct document (cached), with the hub's limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from typing import Any, AsyncIterator

import orjson

from graphql import DocumentNode, GraphQLError, execute, parse, specified_rules, validate
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from mx_schema import SCHEMA_VERSION, http
from mx_hub.client import SiteClient, SiteFailure
from mx_hub.limits import HUB_RULES, MAX_TOKENS
from mx_hub.registry import Registry
from mx_hub.resolvers import HubContext, HubExecutor, HubSettings, bind_resolvers, field_resolver
from mx_hub.sdl import hub_schema

log = logging.getLogger("mxhub.hub")


class DocumentCache:
    """Parsed and validated documents by query text: most clients send the same few queries."""

    def __init__(self, schema: Any, size: int = 512) -> None:
        self.schema = schema
        self.size = size
        self._docs: OrderedDict[str, tuple[DocumentNode | None, list[GraphQLError]]] = OrderedDict()

    def get(self, query: str) -> tuple[DocumentNode | None, list[GraphQLError]]:
        hit = self._docs.get(query)
        if hit is not None:
            self._docs.move_to_end(query)
            return hit
        try:
            doc: DocumentNode | None = parse(query, max_tokens=MAX_TOKENS)
            errors = validate(self.schema, doc, rules=[*specified_rules, *HUB_RULES])
        except GraphQLError as exc:
            doc, errors = None, [exc]
        entry = (doc, list(errors))
        self._docs[query] = entry
        if len(self._docs) > self.size:
            self._docs.popitem(last=False)
        return entry


async def check_health(registry: Registry, client: SiteClient) -> None:
    """One round of health checks: every registered source, concurrently."""

    async def one(name: str, url: str, kind: str) -> None:
        start = time.perf_counter()
        query = "{ siteInfo { schemaVersion } }" if kind == "site" else "{ _service { sdl } }"
        try:
            answer = await client.query(name, url, query, timeout=5.0)
            if answer.errors or not answer.data:
                raise SiteFailure(name, "SITE_ERROR", f"site {name} answered errors to a health check")
        except SiteFailure as failure:
            await registry.mark(name, "down", error=str(failure))
            return
        await registry.mark(name, "up", latency_ms=(time.perf_counter() - start) * 1000)

    await asyncio.gather(*(one(s.name, s.url, s.kind) for s in registry.sites(kind=None)), return_exceptions=True)


def create_app(registry_dsn: str, settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    schema = bind_resolvers(hub_schema())
    documents = DocumentCache(schema)
    registry = Registry(registry_dsn)
    state: dict[str, Any] = {}

    def is_admin(request: Request) -> bool:
        token = settings.admin_token
        header = request.headers.get("authorization", "")
        if token is None:
            return False
        return header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token)

    async def graphql_endpoint(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            from strawberry.http.ides import get_graphql_ide_html

            return HTMLResponse(get_graphql_ide_html(graphql_ide="graphiql"))
        media = http.negotiate(accept)
        try:
            body = await request.body() if request.method == "POST" else b""
            gql = http.parse_request(request.method, request.headers.get("content-type"), body, request.query_params)
        except http.RequestError as exc:
            return JSONResponse(http.request_error_body(str(exc)), status_code=exc.status, media_type=media)
        except ClientDisconnect:
            return Response(status_code=499)
        doc, errors = documents.get(gql.query)
        if errors or doc is None:
            payload = {"errors": [http.format_error(e) for e in errors], "data": None}
            return Response(json.dumps(payload), status_code=400 if media == http.GRAPHQL_RESPONSE else 200,
                            media_type=media)
        context = HubContext(registry=registry, client=state["client"], settings=settings, is_admin=is_admin(request),
                             raw_variables=gql.variables or {})
        if request.method == "GET" and any(getattr(d, "operation", None) and d.operation.value == "mutation"
                                           for d in doc.definitions):
            return JSONResponse(http.request_error_body("mutations need POST"), status_code=405, media_type=media)
        started = time.perf_counter()
        result = execute(schema, doc, variable_values=gql.variables, operation_name=gql.operation_name,
                         context_value=context, field_resolver=field_resolver,
                         executor_class=HubExecutor)
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            result = await result
        payload: dict[str, Any] = {}
        all_errors = [http.format_error(e) for e in result.errors or []] + context.site_errors
        if all_errors:
            payload["errors"] = all_errors
        payload["data"] = result.data
        payload["extensions"] = {
            "schemaVersion": SCHEMA_VERSION,
            "sites": [vars(r) for r in sorted(context.reports.values(), key=lambda r: r.name)],
            "totalCountComplete": context.total_complete,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "siteWaitMs": round(context.site_wait_ms, 2),
        }
        if context.warnings:
            payload["extensions"]["warnings"] = context.warnings
        status = 400 if result.data is None and result.errors and media == http.GRAPHQL_RESPONSE else 200
        return Response(orjson.dumps(payload, default=str), status_code=status, media_type=media)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "role": "hub", "schemaVersion": SCHEMA_VERSION})

    async def ready(request: Request) -> JSONResponse:
        try:
            await registry.pool.fetchval("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - any failure of the registry means not ready
            log.warning("registry not ready: %s", exc)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        sites = registry.sites(kind=None)
        return JSONResponse({"status": "ready", "sites": {s.name: s.status for s in sites}})

    async def health_loop() -> None:
        while True:
            await asyncio.sleep(settings.health_interval)
            try:
                await check_health(registry, state["client"])
            except Exception:  # noqa: BLE001 - a failed round must not end the loop
                log.exception("health check round failed")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await registry.start()
        state["client"] = SiteClient(timeout=settings.site_timeout)
        task = asyncio.create_task(health_loop()) if settings.health_interval > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state["client"].close()
            await registry.close()

    app = Starlette(
        routes=[Route("/graphql", graphql_endpoint, methods=["GET", "POST"]), Route("/health", health),
                Route("/ready", ready)],
        lifespan=lifespan,
    )
    app.state.registry = registry
    app.state.settings = settings
    app.state.runtime = state
    return app
