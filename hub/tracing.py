"""Correlation at the hub: the request id (X-Request-Id, assigned or accepted) and OpenTelemetry spans for
each request and each call to a site, whose W3C `traceparent` the site continues.

Spans go nowhere unless a tracer provider is configured (the command line does it from OTEL_* variables,
docs/operations.md): without one, OpenTelemetry's API records nothing and costs next to nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar

from opentelemetry import propagate, trace
from opentelemetry.context import Context

REQUEST_ID_HEADER = "x-request-id"

# The id of the hub request being answered; every call to a site carries it (client.py).
REQUEST_ID: ContextVar[str | None] = ContextVar("mxhub_request_id", default=None)

tracer = trace.get_tracer("mxhub.hub")


def incoming(headers: Mapping[str, str]) -> Context:
    """The trace context a client sent (`traceparent`), so a hub request can continue a client's trace."""
    return propagate.extract(headers)


def outgoing(headers: MutableMapping[str, str]) -> None:
    """Add the current trace context and the request id to the headers of a call to a site."""
    propagate.inject(headers)
    rid = REQUEST_ID.get()
    if rid is not None:
        headers[REQUEST_ID_HEADER] = rid
