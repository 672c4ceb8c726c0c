"""Correlation at a site or LIMS: the hub's request id (X-Request-Id) in the site's request log, a server
span continuing the hub's trace (W3C `traceparent`), and a span around each statement sent to the store.

Spans go nowhere unless a tracer provider is configured (the command line does it from OTEL_* variables):
without one OpenTelemetry's API records nothing. No SQL is built or read here, only timed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import propagate, trace
from opentelemetry.context import Context

tracer = trace.get_tracer("mxhub.site")

STATEMENT_CHARS = 1000  # of a statement's text kept on its span: enough to recognise it


def incoming(headers: Mapping[str, str]) -> Context:
    """The trace context the hub sent (`traceparent`): the site's span is a child of the hub's call."""
    return propagate.extract(headers)


@contextmanager
def db_span(system: str, statement: str) -> Iterator[trace.Span]:
    """A client span around one statement to the store (`system`: postgresql or mysql)."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "QUERY"
    with tracer.start_as_current_span(
        f"{verb} {system}",
        kind=trace.SpanKind.CLIENT,
        attributes={"db.system": system, "db.query.text": statement[:STATEMENT_CHARS]},
    ) as span:
        yield span
