"""The hub as an ASGI app: /graphql (GraphiQL in a browser, its files under /graphiql/), /health, /ready,
/hub-key, and health checks.

Every request is authenticated (anonymous without a token, 401 for a bad one) and rate limited per
caller; documents are parsed and validated once per distinct text (cached), with the hub's limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

import orjson
from graphql import DocumentNode, GraphQLError, execute, parse, specified_rules, validate
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from mx_hub import trust
from mx_hub.auth import ApiTokens, Authenticator, AuthError, Caller, OidcVerifier
from mx_hub.client import CURRENT_CALLER, CallerScope, SiteClient, SiteFailure
from mx_hub.limits import HUB_RULES, MAX_TOKENS
from mx_hub.ratelimit import RateLimiter, retry_after_header
from mx_hub.registration import refusal
from mx_hub.registry import Registry
from mx_hub.resolvers import HubContext, HubExecutor, HubSettings, bind_resolvers, field_resolver
from mx_hub.sdl import hub_schema
from mx_hub.web import web_routes
from mx_schema import SCHEMA_VERSION, graphiql, http
from mx_schema.errors import INTERNAL, REGISTRY_UNAVAILABLE, UNAUTHENTICATED

log = logging.getLogger("mxhub.hub")

RATE_LIMITED = "RATE_LIMITED"
# What a site's error message must not carry through the hub: tracebacks, SQL, URLs, addresses.
LEAKY = re.compile(
    r"Traceback|File \"|\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET|WHERE)\b|syntax error at"
    r"|asyncpg|asyncmy|psycopg|pymysql|[a-z+]+://|\b\d{1,3}(\.\d{1,3}){3}\b",
    re.IGNORECASE | re.DOTALL,
)


def mask_site_error(entry: dict[str, Any]) -> dict[str, Any]:
    """A site's error as the caller may see it: internals replaced by a correlation id that is logged."""
    ext = entry.get("extensions") or {}
    message = str(entry.get("message", ""))
    if ext.get("code") != INTERNAL and not LEAKY.search(message) and len(message) <= 1000:
        return entry
    correlation = ext.get("correlationId") or uuid.uuid4().hex[:16]
    log.error("site error masked %s: %s", correlation, message[:2000])
    site = ext.get("site", "?")
    return {
        **entry,
        "message": f"site {site}: internal error (correlation id {correlation})",
        "extensions": {
            **ext,
            "code": INTERNAL if ext.get("code") in (None, INTERNAL) else ext["code"],
            "correlationId": correlation,
        },
    }


def _error_response(
    status: int, code: str, message: str, media: str, headers: dict[str, str]
) -> JSONResponse:
    # refused before execution: no `data` entry (GraphQL spec, Response Format)
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": code}}]},
        status_code=status,
        media_type=media,
        headers=headers,
    )


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


async def check_health(registry: Registry, client: SiteClient, timeout: float = 5.0) -> None:
    """One round of health checks: every registered source, concurrently, each given `timeout` s."""

    async def one(name: str, url: str, kind: str) -> None:
        start = time.perf_counter()
        query = "{ siteInfo { schemaVersion } }" if kind == "site" else "{ _service { sdl } }"
        try:
            answer = await client.query(name, url, query, timeout=timeout)
            if answer.errors or not answer.data:
                # name the cause as registration does (a refused caller token says which key, which name)
                why = refusal(name, answer, None, doing="check the health of") if answer.errors else None
                first = answer.errors[0] if answer.errors and isinstance(answer.errors[0], dict) else {}
                code = (
                    (first.get("extensions") or {}).get("code")
                    if isinstance(first.get("extensions"), dict)
                    else None
                )
                raise SiteFailure(
                    name,
                    "SITE_ERROR",
                    str(why)
                    if why is not None
                    else f"site {name} answered errors to a health check"
                    + (f" ({code}: {str(first.get('message'))[:200]})" if code else ""),
                )
        except SiteFailure as failure:
            await registry.mark(name, "down", error=str(failure))
            return
        await registry.mark(name, "up", latency_ms=(time.perf_counter() - start) * 1000)

    await asyncio.gather(
        *(one(s.name, s.url, s.kind) for s in registry.sites(kind=None)), return_exceptions=True
    )


def create_app(registry_dsn: str, settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    schema = bind_resolvers(hub_schema())
    documents = DocumentCache(schema)
    registry = Registry(registry_dsn)
    state: dict[str, Any] = {}
    if settings.oidc_issuer and not settings.oidc_jwks:
        raise ValueError("an OIDC issuer needs its keys: give --oidc-jwks (a JWKS file or URL)")
    api_tokens = ApiTokens(lambda: registry.pool)
    oidc = (
        OidcVerifier(settings.oidc_issuer, settings.oidc_jwks, settings.oidc_audience)
        if settings.oidc_issuer and settings.oidc_jwks
        else None
    )
    authenticator = Authenticator(admin_token=settings.admin_token, api_tokens=api_tokens, oidc=oidc)
    limiter = RateLimiter(settings.rate_limit)

    def refuse(address: str, exc: AuthError, media: str) -> Response:
        log.info("refused a bearer token from %s: %s", address, exc)
        wait = limiter.take(address)  # failed attempts count against the address
        if wait:
            return _error_response(
                429, RATE_LIMITED, "too many requests", media, {"retry-after": retry_after_header(wait)}
            )
        return _error_response(
            401,
            UNAUTHENTICATED,
            f"not authenticated: {exc}",
            media,
            {"www-authenticate": 'Bearer error="invalid_token"'},
        )

    async def identify(request: Request, media: str) -> Caller | Response:
        """The caller, or the 401/429/503 response to send instead."""
        address = f"ip:{request.client.host if request.client else '?'}"
        try:
            caller = await authenticator.authenticate(request.headers.get("authorization"))
        except AuthError as exc:
            return refuse(address, exc, media)
        except Exception as exc:  # noqa: BLE001 - the registry (API tokens) or the OIDC keys are out of reach
            log.error("cannot check credentials from %s: %s: %s", address, type(exc).__name__, exc)
            return _error_response(
                503,
                REGISTRY_UNAVAILABLE,
                "the hub cannot check credentials just now (its registry is unavailable); retry shortly",
                media,
                {"retry-after": "5"},
            )
        wait = limiter.take(f"login:{caller.login}" if caller.login else address)
        if wait:
            return _error_response(
                429,
                RATE_LIMITED,
                f"rate limit of {settings.rate_limit} requests a minute "
                f"exceeded; retry in {retry_after_header(wait)} s",
                media,
                {"retry-after": retry_after_header(wait)},
            )
        return caller

    async def graphql_endpoint(request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            return HTMLResponse(
                graphiql.page("GraphiQL · hub · mxhub"),
                headers={"content-security-policy": graphiql.CONTENT_SECURITY_POLICY},
            )
        media = http.negotiate(accept)
        caller = await identify(request, media)
        if isinstance(caller, Response):
            return caller
        try:
            body = await http.read_body(request) if request.method == "POST" else b""
            gql = http.parse_request(
                request.method, request.headers.get("content-type"), body, request.query_params
            )
        except http.RequestError as exc:
            return JSONResponse(http.request_error_body(str(exc)), status_code=exc.status, media_type=media)
        except ClientDisconnect:
            return Response(status_code=499)
        doc, errors = documents.get(gql.query)
        if errors or doc is None:
            payload, status = http.result_body(None, errors, [http.format_error(e) for e in errors], media)
            return Response(json.dumps(payload), status_code=status, media_type=media)
        context = HubContext(
            registry=registry,
            client=state["client"],
            settings=settings,
            caller=caller,
            api_tokens=api_tokens,
            raw_variables=gql.variables or {},
        )
        if request.method == "GET" and any(
            getattr(d, "operation", None) and d.operation.value == "mutation" for d in doc.definitions
        ):
            return JSONResponse(
                http.request_error_body("mutations need POST"), status_code=405, media_type=media
            )
        started = time.perf_counter()
        scope_token = CURRENT_CALLER.set(CallerScope(caller))  # every call to a site carries this caller
        try:
            result = execute(
                schema,
                doc,
                variable_values=gql.variables,
                operation_name=gql.operation_name,
                context_value=context,
                field_resolver=field_resolver,
                executor_class=HubExecutor,
            )
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                result = await result
        finally:
            CURRENT_CALLER.reset(scope_token)
        all_errors = [http.format_error(e) for e in result.errors or []] + [
            mask_site_error(e) for e in context.site_errors
        ]
        payload, status = http.result_body(result.data, result.errors, all_errors, media)
        payload["extensions"] = {
            "schemaVersion": SCHEMA_VERSION,
            "sites": [vars(r) for r in sorted(context.reports.values(), key=lambda r: r.name)],
            "totalCountComplete": context.total_complete,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "siteWaitMs": round(context.site_wait_ms, 2),
        }
        if context.warnings:
            payload["extensions"]["warnings"] = context.warnings
        return Response(orjson.dumps(payload, default=str), status_code=status, media_type=media)

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

    async def hub_key(request: Request) -> Response:
        key = state.get("key")
        if key is None:
            return JSONResponse({"status": "starting"}, status_code=503)
        return PlainTextResponse(
            trust.public_pem(key),
            media_type="application/x-pem-file",
            headers={"x-mxhub-key-id": trust.key_id(key)},
        )

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
                # The site timeout, not a fixed 5 s: a site slow on a loaded machine is slow, not down.
                await check_health(registry, state["client"], settings.site_timeout)
            except Exception:  # noqa: BLE001 - a failed round must not end the loop
                log.exception("health check round failed")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await registry.start()
        state["key"] = await trust.load_or_create_key(registry.pool, settings.signing_key)
        log.info("hub signing key %s", trust.key_id(state["key"]))
        state["client"] = SiteClient(timeout=settings.site_timeout, signing_key=state["key"])
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
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route(f"/{graphiql.PREFIX}/{{name}}", graphiql_asset, methods=["GET", "HEAD"]),
            Route("/health", health),
            Route("/ready", ready),
            Route("/hub-key", hub_key),
            *web_routes(),
        ],
        lifespan=lifespan,
    )
    app.state.registry = registry
    app.state.settings = settings
    app.state.runtime = state
    return app
