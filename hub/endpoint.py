"""The hub's GraphQL-over-HTTP endpoint (/graphql): GraphiQL for a browser, else the request read,
its caller admitted (callers.py), the document parsed and validated once per text, executed, and the
answer sent with the sites' errors (masked) and a report per site.

Kept to itself so that it can move onto the shared GraphQL-over-HTTP view in mx_schema; no resolver,
no policy on who may see what lives here.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    execute,
    parse,
    specified_rules,
    validate,
)
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from mx_hub.auth import ApiTokens, Caller
from mx_hub.callers import Gate
from mx_hub.client import CURRENT_CALLER, CallerScope
from mx_hub.context import HubContext
from mx_hub.execution import HubExecutor, field_resolver
from mx_hub.limits import HUB_RULES, MAX_TOKENS
from mx_hub.masking import mask_site_error
from mx_hub.registry import Registry
from mx_hub.runtime import Runtime
from mx_hub.settings import HubSettings
from mx_schema import SCHEMA_VERSION, graphiql, http


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


def has_mutation(doc: DocumentNode) -> bool:
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation == OperationType.MUTATION
        for d in doc.definitions
    )


class GraphQLEndpoint:
    """The ASGI-facing handler of /graphql (GET and POST)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        registry: Registry,
        settings: HubSettings,
        api_tokens: ApiTokens,
        gate: Gate,
        runtime: Runtime,
    ) -> None:
        self.schema = schema
        self.documents = DocumentCache(schema)
        self.registry = registry
        self.settings = settings
        self.api_tokens = api_tokens
        self.gate = gate
        self.runtime = runtime

    async def handle(self, request: Request) -> Response:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            return HTMLResponse(
                graphiql.page("GraphiQL · hub · mxhub"),
                headers={"content-security-policy": graphiql.CONTENT_SECURITY_POLICY},
            )
        media = http.negotiate(accept)
        caller = await self.gate.admit(request, media)
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
        doc, errors = self.documents.get(gql.query)
        if errors or doc is None:
            payload, status = http.result_body(None, errors, [http.format_error(e) for e in errors], media)
            return Response(json.dumps(payload), status_code=status, media_type=media)
        if request.method == "GET" and has_mutation(doc):
            return JSONResponse(
                http.request_error_body("mutations need POST"), status_code=405, media_type=media
            )
        context = HubContext(
            registry=self.registry,
            client=self.runtime.client,
            settings=self.settings,
            caller=caller,
            api_tokens=self.api_tokens,
            raw_variables=gql.variables or {},
        )
        started = time.perf_counter()
        result = await self._execute(doc, gql, context, caller)
        return self._respond(result, context, media, started)

    async def _execute(
        self, doc: DocumentNode, gql: Any, context: HubContext, caller: Caller
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

    def _respond(self, result: ExecutionResult, context: HubContext, media: str, started: float) -> Response:
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
