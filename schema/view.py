"""The one GraphQL-over-HTTP view of hub, sites and LIMS (issue 14, item 5): the whole protocol -- GraphiQL,
media types, body and JSON limits, GET queries, GET mutations refused, error shaping, status codes -- with
hooks for what differs. Framework-neutral: a duck-typed request in, an HttpAnswer out; no web framework here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast, parse

from mx_schema import graphiql, http
from mx_schema.limits import MAX_TOKENS
from mx_schema.operations import OBSERVED


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """What to send: a framework adapter turns it into its response type in a line or two."""

    status: int
    body: bytes
    media_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


class Refused(Exception):  # noqa: N818 - a refusal, not a failure of the server
    """Raised by a hook to answer before execution: `status`, one error with `message` and `extensions`
    (a `code` among them), no `data` entry (GraphQL spec, Response Format), and extra HTTP headers."""

    def __init__(
        self,
        status: int,
        message: str,
        extensions: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.extensions = dict(extensions)
        self.headers = dict(headers or {})


@dataclass(slots=True)
class Outcome:
    """An execution's result as the view shapes it: graphql-core `data` and `errors`, extensions for
    each of those errors (a site names itself), errors already shaped elsewhere (the hub's site errors),
    and the response's `extensions`."""

    data: Any
    errors: Sequence[GraphQLError] = ()
    error_extensions: Mapping[str, Any] | None = None
    shaped_errors: Sequence[dict[str, Any]] = ()
    extensions: dict[str, Any] = field(default_factory=dict)


def _json(payload: Any) -> bytes:
    return json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def selects_mutation(query: str, operation_name: str | None) -> bool:
    """Whether the operation this request runs is a mutation, by graphql-core's parse and its choice of
    operation (GraphQL spec, GetOperation: operationName, else the only one). A document that does not
    parse, or names no single operation, selects none: execution reports that with its own error."""
    try:
        document = parse(query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, operation_name)
    return operation is not None and operation.operation == OperationType.MUTATION


class GraphQLHttp:
    """GraphQL over HTTP with hooks; subclass it and implement `execute` (the rest are optional).

    Order: GraphiQL page (GET, text/html, no `query`) -> `admit` -> body read and parsed (400/405/413/415)
    -> GET mutation refused (405) -> `scope` -> `execute` -> `audit` -> the answer. A hook answers early
    by raising Refused. `dumps` encodes the JSON body (a site passes orjson).
    """

    def __init__(self, *, graphiql_title: str, dumps: Callable[[Any], bytes] = _json) -> None:
        self.graphiql_title = graphiql_title
        self.dumps = dumps

    async def admit(self, request: http.HttpRequest) -> Any:
        """Before the body is read: who asks (the hub authenticates and rate-limits here)."""
        return None

    async def scope(self, request: http.HttpRequest, gql: http.GraphQLRequest, admitted: Any) -> Any:
        """Once the request is parsed: what the caller may see (a site verifies the hub's caller token)."""
        return admitted

    async def execute(self, request: http.HttpRequest, gql: http.GraphQLRequest, scope: Any) -> Outcome:
        raise NotImplementedError

    def audit(
        self, request: http.HttpRequest, gql: http.GraphQLRequest, scope: Any, outcome: Outcome
    ) -> None:
        """After execution: record who asked what (a site's audit log)."""

    async def handle(self, request: http.HttpRequest) -> HttpAnswer:
        accept = request.headers.get("accept", "")
        if request.method == "GET" and "query" not in request.query_params and "text/html" in accept:
            page = graphiql.page(self.graphiql_title).encode("utf-8")
            return HttpAnswer(
                200, page, "text/html", {"content-security-policy": graphiql.CONTENT_SECURITY_POLICY}
            )
        media = http.negotiate(accept)
        try:
            return await self._answer(request, media)
        except http.RequestError as exc:
            return HttpAnswer(exc.status, self.dumps(http.request_error_body(str(exc))), media)
        except Refused as refusal:
            body = {"errors": [{"message": str(refusal), "extensions": refusal.extensions}]}
            return HttpAnswer(refusal.status, self.dumps(body), media, refusal.headers)

    async def _answer(self, request: http.HttpRequest, media: str) -> HttpAnswer:
        admitted = await self.admit(request)
        body = await http.read_body(request) if request.method == "POST" else b""
        gql = http.parse_request(
            request.method, request.headers.get("content-type"), body, request.query_params
        )
        observed = OBSERVED.get()
        if observed is not None:  # for the app's metrics and request log (mx_schema.operations)
            observed.request = gql
        if request.method == "GET" and selects_mutation(gql.query, gql.operation_name):
            # GraphQL over HTTP, GET: "the server MUST NOT execute a mutation", 405 with application/json.
            raise http.RequestError("mutations need POST", status=405)
        scope = await self.scope(request, gql, admitted)
        outcome = await self.execute(request, gql, scope)
        self.audit(request, gql, scope, outcome)
        formatted = [http.format_error(e, extra=outcome.error_extensions) for e in outcome.errors]
        formatted.extend(outcome.shaped_errors)
        payload, status = http.result_body(outcome.data, outcome.errors, formatted, media)
        if outcome.extensions:
            payload["extensions"] = outcome.extensions
        return HttpAnswer(status, self.dumps(payload), media)
