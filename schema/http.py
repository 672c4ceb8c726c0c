"""GraphQL over HTTP, the framework-neutral part shared by site and hub views.

Request parsing, media-type negotiation (application/graphql-response+json, as the GraphQL-over-HTTP
spec asks, else application/json), error shaping and the body and status of a result. Pure functions:
no web framework here.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from mx_schema.errors import (
    BAD_REQUEST,
    BAD_USER_INPUT,
    GRAPHQL_VALIDATION_FAILED,
    INTERNAL,
    ContractError,
)

log = logging.getLogger("mxhub.graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_BODY_BYTES = 1_000_000
# Variables and bodies nest at most this deep: a 3 KB variables object nested 1,500 deep once raised
# RecursionError (an HTTP 500) at hub and site. Real GraphQL inputs nest a handful of levels.
MAX_JSON_DEPTH = 64


class HttpRequest(Protocol):
    """What the view reads of an HTTP request (a Starlette Request has it all)."""

    @property
    def method(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    @property
    def query_params(self) -> Mapping[str, str]: ...

    def stream(self) -> AsyncIterator[bytes]: ...


class RequestError(Exception):
    """The HTTP request is not a GraphQL request: answered with 400 (or 405/413/415) and a message."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None


def negotiate(accept: str | None) -> str:
    """The response media type: graphql-response+json when the client accepts it, else JSON."""
    if not accept:
        return JSON
    for part in accept.split(","):
        media = part.split(";")[0].strip().lower()
        if media == GRAPHQL_RESPONSE:
            return GRAPHQL_RESPONSE
    return JSON


def parse_request(
    method: str, content_type: str | None, body: bytes, params: Mapping[str, str]
) -> GraphQLRequest:
    """The GraphQL request in a GET's parameters or a POST's body; RequestError when there is none."""
    if method == "GET":
        data: Any = dict(params)
        if "variables" in data and data["variables"]:
            data["variables"] = _loads(data["variables"], "variables")
    elif method == "POST":
        data = _post_data(content_type, body)
    else:
        raise RequestError("use GET or POST", status=405)
    if not isinstance(data, dict):
        raise RequestError("the body must be a JSON object with a `query`")
    query = data.get("query")
    if not isinstance(query, str) or not query.strip():
        raise RequestError("missing `query`")
    variables = data.get("variables")
    if variables is not None and not isinstance(variables, dict):
        raise RequestError("`variables` must be a JSON object")
    op = data.get("operationName")
    if op is not None and not isinstance(op, str):
        raise RequestError("`operationName` must be a string")
    return GraphQLRequest(query=query, variables=variables, operation_name=op)


def _post_data(content_type: str | None, body: bytes) -> Any:
    if len(body) > MAX_BODY_BYTES:
        raise RequestError(f"request body over {MAX_BODY_BYTES} bytes", status=413)
    media = (content_type or "").split(";")[0].strip().lower()
    if media == "application/graphql":
        return {"query": body.decode("utf-8", "replace")}
    if media in ("application/json", ""):
        return _loads(body, "body")
    raise RequestError(f"unsupported content type {media!r}; send application/json", status=415)


def _loads(raw: bytes | str, what: str) -> Any:
    """JSON with its nesting checked first, by counting brackets outside strings (no recursion)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, (bytes, bytearray)) else raw
    if _nesting(text) > MAX_JSON_DEPTH:
        raise RequestError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RequestError(f"{what} is not valid JSON") from None


# A JSON string (an unterminated one runs to the end of the text), or one bracket.
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def _nesting(text: str) -> int:
    """How deep brackets nest outside strings; counting stops once past MAX_JSON_DEPTH."""
    if "[" not in text and "{" not in text:
        return 0
    depth = deepest = 0
    for token in _STRING_OR_BRACKET.finditer(text):
        mark = token.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                break
        elif mark in "]}":
            depth -= 1
    return deepest


async def read_body(request: HttpRequest) -> bytes:
    """A request's body, refused (413) as soon as it passes MAX_BODY_BYTES while streaming:
    a huge or endless upload is never held in memory whole (a 400 MB chunked body once reached 1 GB)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise RequestError(f"request body over {MAX_BODY_BYTES} bytes", status=413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise RequestError(f"request body over {MAX_BODY_BYTES} bytes", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


def format_error(error: Any, *, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Shape a graphql-core GraphQLError: a code always; internal failures masked with a correlation id."""
    original = getattr(error, "original_error", None)
    formatted: dict[str, Any] = dict(error.formatted)
    extensions = dict(formatted.get("extensions") or {})
    if original is None:
        extensions.setdefault("code", GRAPHQL_VALIDATION_FAILED)
    elif not getattr(error, "path", None) and not isinstance(original, ContractError):
        # No path: raised while coercing variables, before any resolver ran; graphql-core's message
        # names the variable and the bad value, nothing internal.
        extensions.setdefault("code", GRAPHQL_VALIDATION_FAILED)
    elif isinstance(original, ContractError) or getattr(original, "safe_for_clients", False) is True:
        extensions["code"] = getattr(original, "code", BAD_USER_INPUT)
        for key, value in (getattr(original, "extensions", None) or {}).items():
            extensions.setdefault(key, value)
    else:
        correlation = uuid.uuid4().hex[:16]
        log.error("internal error %s at %s", correlation, formatted.get("path"), exc_info=original)
        formatted["message"] = f"internal error (correlation id {correlation})"
        extensions["code"] = INTERNAL
        extensions["correlationId"] = correlation
    if extra:
        for key, value in extra.items():
            extensions.setdefault(key, value)
    formatted["extensions"] = extensions
    return formatted


def request_error_body(message: str) -> dict[str, Any]:
    return {"errors": [{"message": message, "extensions": {"code": BAD_REQUEST}}]}


def is_request_error(data: Any, errors: Sequence[Any] | None) -> bool:
    """True when the request failed before execution began: the document did not parse or validate, the
    operation is not in it, or the variables did not coerce. graphql-core gives those errors no `path`;
    an error raised while executing a field always has one (GraphQL spec, "Errors": path)."""
    return data is None and bool(errors) and all(not getattr(e, "path", None) for e in errors or ())


def result_body(
    data: Any, errors: Sequence[Any] | None, formatted: list[dict[str, Any]], media: str
) -> tuple[dict[str, Any], int]:
    """The body (`errors` then `data`; the caller adds `extensions`) and HTTP status of a GraphQL result.

    A request error has no `data` entry: "If an error was raised before execution begins, the data entry
    should not be present in the result" (GraphQL spec, Response Format); with graphql-response+json it is
    a 400 (GraphQL over HTTP, "application/graphql-response+json": request errors), with application/json a
    200. Once execution began `data` is present, null included, and the status is 200 (a null `data` from
    a failed non-null root field SHOULD still be 2xx).
    """
    body: dict[str, Any] = {}
    if formatted:
        body["errors"] = formatted
    if is_request_error(data, errors):
        return body, 400 if media == GRAPHQL_RESPONSE else 200
    body["data"] = data
    return body, 200
