"""The site's thin HTTP view on Starlette, for site adapters and LIMS sources alike: the protocol is
mx_schema.view's; this module adds the site's hooks (caller token, scope, audit, an older minor version
served: issue 21), GraphiQL's files, and each request traced, counted and logged under the hub's request id."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    build_schema,
    execute_sync,
    parse,
    specified_rules,
    validate,
)
from opentelemetry import trace
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from mx_schema import graphiql, http, operations
from mx_schema.errors import CALLER_TOKEN_IGNORED, OIDC_KEYS_UNAVAILABLE
from mx_schema.limits import MAX_TOKENS, RULES
from mx_schema.operations import (
    OBSERVED,
    REQUEST_ID_HEADER,
    Observed,
    OperationLabels,
    request_id,
    root_fields,
)
from mx_schema.versioning import read_version_sdl, resolve_version
from mx_schema.view import GraphQLHttp, HttpAnswer, Outcome, Refused
from site_adapter import access, tracing
from site_adapter.access import AccessPolicy
from site_adapter.metrics import SiteMetrics

log = logging.getLogger("mxhub.site")


class ViewContext(Protocol):
    """What the view reads of a site's (or a LIMS's) per-request context."""

    site: str
    schema_version: str
    warnings: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Request:
    """One request's context, its scope (None: no access control) and the proposals it touched."""

    context: ViewContext
    scope: access.Scope | None
    touched: set[str] = field(default_factory=set)


# The federation directives the printed SDL uses without declaring them; declared so graphql-core builds it.
_FEDERATION_DIRECTIVES = (
    "directive @link(url: String!, import: [String]) repeatable on SCHEMA\n"
    "directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE\n"
)
# Root fields answered from the older SDL itself (introspection and the federation `_service`).
_SCHEMA_FIELDS = frozenset({"__schema", "__type", "__typename", "_service"})


class OlderVersion:
    """An older minor version this site serves (`mxhub site serve --schema-version 1.0`): documents are
    validated against its SDL before the current schema runs them, and its SDL answers `_service` and
    introspection, as a site of that version would (docs/facility.md, "Versions")."""

    def __init__(self, version: str) -> None:
        self.version = resolve_version(version)
        self.sdl = read_version_sdl(self.version).removesuffix("\n")  # printed as a build prints it
        self.schema: GraphQLSchema = build_schema(_FEDERATION_DIRECTIVES + self.sdl, assume_valid_sdl=True)

    def answer(self, gql: http.GraphQLRequest) -> tuple[Any, list[GraphQLError]] | None:
        """(data, errors) when this version answers the request itself (a document invalid at this version,
        or one that asks only about the schema); None when the current schema should execute it."""
        try:
            document = parse(gql.query, no_location=False, max_tokens=MAX_TOKENS)
        except GraphQLError:
            return None  # the current schema reports it, in the same words
        errors = validate(self.schema, document, [*specified_rules, *RULES])  # the site's limits too
        if errors:
            return None, list(errors)
        if not _asks_only_schema(document, gql.operation_name):
            return None
        result = execute_sync(
            self.schema,
            document,
            root_value={"_service": {"sdl": self.sdl}},
            variable_values=gql.variables,
            operation_name=gql.operation_name,
        )
        return result.data, list(result.errors or ())

    def own_sdl(self, gql: http.GraphQLRequest, data: Any) -> None:
        """Put this version's SDL in `_service { sdl }` of data the current schema answered (a document that
        asks for it beside records, as the hub's health check does)."""
        if not isinstance(data, dict) or "_service" not in gql.query:
            return
        operation = _operation(parse(gql.query, no_location=True, max_tokens=MAX_TOKENS), gql.operation_name)
        for root in operation.selection_set.selections if operation is not None else ():
            service = (
                data.get(_key(root))
                if isinstance(root, FieldNode) and root.name.value == "_service"
                else None
            )
            if isinstance(service, dict) and isinstance(root, FieldNode) and root.selection_set is not None:
                for sel in root.selection_set.selections:
                    if isinstance(sel, FieldNode) and sel.name.value == "sdl":
                        service[_key(sel)] = self.sdl


def _key(node: FieldNode) -> str:
    return node.alias.value if node.alias is not None else node.name.value


def _operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    ops = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = [o for o in ops if operation_name is None or (o.name and o.name.value == operation_name)]
    return chosen[0] if len(chosen) == 1 else None


def _asks_only_schema(document: DocumentNode, operation_name: str | None) -> bool:
    operation = _operation(document, operation_name)
    if operation is None:
        return False
    selections = operation.selection_set.selections
    return all(isinstance(s, FieldNode) and s.name.value in _SCHEMA_FIELDS for s in selections)


def _dumps(payload: Any) -> bytes:
    return orjson.dumps(payload, default=str)


async def respond(view: GraphQLHttp, request: Request) -> Response:
    """A Starlette response for `view`'s answer to `request` (the adapter a hub or site endpoint needs)."""
    try:
        answer: HttpAnswer = await view.handle(request)
    except ClientDisconnect:
        return Response(status_code=499)  # the caller (e.g. a hub past its deadline) has gone
    return Response(answer.body, answer.status, dict(answer.headers), media_type=answer.media_type)


class GraphQLView(GraphQLHttp):
    def __init__(
        self,
        schema: Any,
        make_context: Callable[[Any], ViewContext],
        policy: AccessPolicy | None = None,
        older: OlderVersion | None = None,
        metrics: SiteMetrics | None = None,
    ) -> None:
        super().__init__(graphiql_title="GraphiQL · mxhub", dumps=_dumps)
        self.schema = schema
        self.make_context = make_context
        self.policy = policy
        self.older = older
        self.metrics = metrics
        core = getattr(schema, "_schema", None)  # strawberry's graphql-core schema: its root fields label
        self.labels = OperationLabels(root_fields(core) if isinstance(core, GraphQLSchema) else ())

    def routes(self, path: str = "/graphql") -> list[Route]:
        """The GraphQL endpoint and, beside it, the files of its GraphiQL page."""
        folder = path.rsplit("/", 1)[0]
        return [
            Route(path, self.endpoint, methods=["GET", "POST"]),
            Route(f"{folder}/{graphiql.PREFIX}/{{name}}", self.graphiql_asset, methods=["GET", "HEAD"]),
        ]

    async def endpoint(self, request: Request) -> Response:
        """The answer, in a span continuing the hub's trace, counted, and logged with the request id."""
        observed = Observed(request_id(request.headers.get(REQUEST_ID_HEADER)))
        token = OBSERVED.set(observed)
        started = time.perf_counter()
        status = 500
        try:
            with tracing.tracer.start_as_current_span(
                "POST /graphql",
                context=tracing.incoming(request.headers),
                kind=trace.SpanKind.SERVER,
                attributes={"http.request.method": request.method, "mxhub.request_id": observed.request_id},
            ) as span:
                response = await respond(self, request)
                status = response.status_code
                span.set_attribute("http.response.status_code", status)
                span.set_attribute("graphql.operation.name", self.labels.get(observed.request))
            response.headers[REQUEST_ID_HEADER] = observed.request_id
            return response
        finally:
            OBSERVED.reset(token)
            self._count(observed, status, time.perf_counter() - started)

    def _count(self, observed: Observed, status: int, seconds: float) -> None:
        operations.record(self.metrics, self.labels, observed, status, seconds, log)

    async def graphiql_asset(self, request: Request) -> Response:
        found = graphiql.asset(request.path_params["name"])
        if found is None:
            return PlainTextResponse("not found", status_code=404)
        path, media = found
        return FileResponse(path, media_type=media, headers={"cache-control": graphiql.ASSET_CACHE_CONTROL})

    async def scope(self, request: http.HttpRequest, gql: http.GraphQLRequest, admitted: Any) -> _Request:
        """The caller the hub's token (or, behind a facility's router, the facility's OIDC token) names
        (401 for a bad token), as the scope the backends obey."""
        context = self.make_context(request)  # the Starlette request the endpoint was given
        if self.policy is None:
            return _Request(context, None)
        token = request.headers.get(access.CALLER_HEADER)
        try:
            viewer = await self.policy.identify(token, request.headers.get("authorization"), context.site)
        except access.Unauthenticated as exc:
            # The issuer's keys out of reach is the site's trouble, not the caller's: 503, retry later.
            status = 503 if exc.code == OIDC_KEYS_UNAVAILABLE else 401
            extensions = {"code": exc.code, "site": context.site, **exc.extensions}
            raise Refused(status, str(exc), extensions) from None
        ignored = self.policy.ignored(token)
        if ignored:  # said in every answer, so the hub can tell its operator (issue 13)
            context.warnings.append({"code": CALLER_TOKEN_IGNORED, "message": ignored})
        return _Request(context, access.Scope(viewer, self.policy.embargo))

    async def execute(self, request: http.HttpRequest, gql: http.GraphQLRequest, scope: Any) -> Outcome:
        state: _Request = scope
        context = state.context
        extensions: dict[str, Any] = {"site": context.site, "schemaVersion": context.schema_version}
        answered = self.older.answer(gql) if self.older is not None else None
        if answered is not None:
            data, errors = answered
            return Outcome(data, errors, {"site": context.site}, extensions=extensions)
        scope_token = access.SCOPE.set(state.scope)
        touched_token = access.TOUCHED.set(state.touched)
        try:
            result = await self.schema.execute(
                gql.query,
                variable_values=gql.variables,
                operation_name=gql.operation_name,
                context_value={"site": context, "request": request},
            )
        finally:
            access.SCOPE.reset(scope_token)
            access.TOUCHED.reset(touched_token)
        if self.older is not None:
            self.older.own_sdl(gql, result.data)
        if context.warnings:
            extensions["warnings"] = context.warnings
        return Outcome(result.data, result.errors or (), {"site": context.site}, extensions=extensions)

    def audit(
        self, request: http.HttpRequest, gql: http.GraphQLRequest, scope: Any, outcome: Outcome
    ) -> None:
        state: _Request = scope
        if self.policy is not None and self.policy.audit is not None:
            viewer = state.scope.viewer if state.scope else None
            self.policy.audit.record(viewer, gql.query, gql.variables, state.touched, gql.operation_name)
