"""The hub's GraphQL-over-HTTP endpoint (/graphql) on the shared view (mx_schema.view): the hub's hooks
are its caller gate (callers.py), its document cache and executor, and the sites' errors (masked) and a
report per site in the answer. No resolver, no policy on who may see what lives here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    execute,
    parse,
    specified_rules,
    validate,
)
from opentelemetry import trace
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from mx_hub import tracing
from mx_hub.auth import ApiTokens, Caller
from mx_hub.callers import Gate
from mx_hub.client import CURRENT_CALLER, CallerScope
from mx_hub.context import HubContext
from mx_hub.execution import HubExecutor, field_resolver
from mx_hub.limits import HUB_RULES, MAX_TOKENS
from mx_hub.masking import mask_site_error
from mx_hub.metrics import HubMetrics
from mx_hub.registry import Registry
from mx_hub.runtime import Runtime
from mx_hub.settings import HubSettings
from mx_schema import SCHEMA_VERSION, http, operations
from mx_schema.operations import OBSERVED, Observed, OperationLabels, request_id, root_fields
from mx_schema.view import GraphQLHttp, Outcome

log = logging.getLogger("mxhub.hub")


class DocumentCache:
    """Parsed and validated documents by query text: most clients send the same few queries."""

    def __init__(self, schema: GraphQLSchema, size: int = 512) -> None:
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
            errors = validate(self.schema, doc, rules=[*specified_rules, *HUB_RULES]) if doc else []
        except GraphQLError as exc:
            doc, errors = None, [exc]
        entry = (doc, list(errors))
        self._docs[query] = entry
        if len(self._docs) > self.size:
            self._docs.popitem(last=False)
        return entry


def _dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=str)


class GraphQLEndpoint(GraphQLHttp):
    """/graphql (GET and POST): the protocol is the shared view's; the hub adds who asks and how it runs."""

    def __init__(
        self,
        schema: GraphQLSchema,
        registry: Registry,
        settings: HubSettings,
        api_tokens: ApiTokens,
        gate: Gate,
        runtime: Runtime,
    ) -> None:
        super().__init__(graphiql_title="GraphiQL · hub · mxhub", dumps=_dumps)
        self.schema = schema
        self.documents = DocumentCache(schema)
        self.registry = registry
        self.settings = settings
        self.api_tokens = api_tokens
        self.gate = gate
        self.runtime = runtime
        self.metrics: HubMetrics | None = None  # app.py sets it
        self.labels = OperationLabels(root_fields(schema))

    async def handle_request(self, request: Request) -> Response:
        """The Starlette endpoint: the view's answer as a response, traced, counted and logged under the
        request's id (X-Request-Id, accepted from the client or made here, sent on to every site)."""
        observed = Observed(request_id(request.headers.get(tracing.REQUEST_ID_HEADER)))
        tokens = (OBSERVED.set(observed), tracing.REQUEST_ID.set(observed.request_id))
        started = time.perf_counter()
        status = 500
        try:
            with tracing.tracer.start_as_current_span(
                "POST /graphql",
                context=tracing.incoming(request.headers),
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": request.method, "mxhub.request_id": observed.request_id},
            ) as span:
                response = await self._respond(request)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("graphql.operation.name", self.labels.get(observed.request))
            response.headers[tracing.REQUEST_ID_HEADER] = observed.request_id
            return response
        finally:
            OBSERVED.reset(tokens[0])
            tracing.REQUEST_ID.reset(tokens[1])
            self._count(observed, status, time.perf_counter() - started)

    async def _respond(self, request: Request) -> Response:
        try:
            answer = await self.handle(request)
        except ClientDisconnect:
            return Response(status_code=499)  # the caller has gone
        return Response(answer.body, answer.status, dict(answer.headers), media_type=answer.media_type)

    def _count(self, observed: Observed, status: int, seconds: float) -> None:
        operations.record(self.metrics, self.labels, observed, status, seconds, log)

    async def admit(self, request: http.HttpRequest) -> Caller:
        return await self.gate.admit(request)  # type: ignore[arg-type]  # the Starlette request

    async def execute(self, request: http.HttpRequest, gql: http.GraphQLRequest, scope: Any) -> Outcome:
        caller: Caller = scope
        doc, errors = self.documents.get(gql.query)
        if errors or doc is None:
            return Outcome(None, errors)
        await self.registry.sync()  # another hub on this registry may have registered a site
        context = HubContext(
            registry=self.registry,
            client=self.runtime.client,
            settings=self.settings,
            caller=caller,
            api_tokens=self.api_tokens,
            raw_variables=gql.variables or {},
        )
        started = time.perf_counter()
        result = await self._run(doc, gql, context, caller)
        if self.metrics is not None:
            for report in context.reports.values():
                self.metrics.site_reports.labels(report.name, report.status).inc()
        extensions: dict[str, Any] = {
            "schemaVersion": SCHEMA_VERSION,
            "sites": [vars(r) for r in sorted(context.reports.values(), key=lambda r: r.name)],
            "totalCountComplete": context.total_complete,
            "ms": round((time.perf_counter() - started) * 1000, 2),
            "siteWaitMs": round(context.site_wait_ms, 2),
        }
        if context.warnings:
            extensions["warnings"] = context.warnings
        return Outcome(
            result.data,
            result.errors or (),
            shaped_errors=[mask_site_error(e) for e in context.site_errors],
            extensions=extensions,
        )

    async def _run(
        self, doc: DocumentNode, gql: http.GraphQLRequest, context: HubContext, caller: Caller
    ) -> ExecutionResult:
        scope_token = CURRENT_CALLER.set(CallerScope(caller))  # every call to a site carries this caller
        try:
            result = execute(
                self.schema,
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
        if not isinstance(result, ExecutionResult):
            raise TypeError(f"graphql-core's execute gave {type(result).__name__}, not an ExecutionResult")
        return result
