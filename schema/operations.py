"""What one GraphQL request was, for metrics and logs at the hub, the sites and the LIMS alike: its root
field as a label of bounded cardinality, and its request id. Stdlib and graphql-core only; counts nothing.

The label is a root field the schema has (a client's operation name is free text: as a metric label it
would let any caller create series without end), "other" for the rest, "none" when no query was read.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import OrderedDict
from collections.abc import Collection
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

from graphql import FieldNode, GraphQLError, GraphQLSchema, get_operation_ast, parse

from mx_schema.http import GraphQLRequest
from mx_schema.limits import MAX_TOKENS

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


@dataclass
class Observed:
    """One request as the view saw it; the view fills `request` once the body is parsed."""

    request_id: str
    request: GraphQLRequest | None = None


# Set by each app's endpoint for the time of one request; the shared view (view.py) fills it.
OBSERVED: ContextVar[Observed | None] = ContextVar("mxhub_observed", default=None)


def request_id(given: str | None) -> str:
    """The caller's X-Request-Id when it is a sane token (so a trace can start at a client), else a new one."""
    if given and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def root_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Every root field of `schema`: the labels an operation can have."""
    names: set[str] = {"__schema", "__type", "__typename"}
    for root in (schema.query_type, schema.mutation_type, schema.subscription_type):
        if root is not None:
            names.update(root.fields)
    return frozenset(names)


def operation_label(request: GraphQLRequest | None, known: Collection[str]) -> str:
    """The first root field of the operation the request runs, if `known`; else "other" ("none": no query)."""
    if request is None:
        return "none"
    try:
        document = parse(request.query, no_location=True, max_tokens=MAX_TOKENS)
    except GraphQLError:
        return "other"
    operation = get_operation_ast(document, request.operation_name)
    if operation is None:
        return "other"
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            return name if name in known else "other"
    return "other"


class OperationLabels:
    """operation_label, remembered by query text: most clients send the same few queries."""

    def __init__(self, known: Collection[str], size: int = 512) -> None:
        self.known = frozenset(known)
        self.size = size
        self._seen: OrderedDict[tuple[str, str | None], str] = OrderedDict()

    def get(self, request: GraphQLRequest | None) -> str:
        if request is None:
            return "none"
        key = (request.query, request.operation_name)
        label = self._seen.get(key)
        if label is None:
            label = self._seen[key] = operation_label(request, self.known)
            if len(self._seen) > self.size:
                self._seen.popitem(last=False)
        return label


class RequestMetrics(Protocol):
    """What `record` needs of an app's metrics (hub/metrics.py, site_adapter/metrics.py): a counter by
    (operation, status) and a latency histogram by operation, prometheus_client-like."""

    requests: Any
    latency: Any


def record(
    metrics: RequestMetrics | None,
    labels: OperationLabels,
    observed: Observed,
    status: int,
    seconds: float,
    log: logging.Logger,
) -> None:
    """Count one GraphQL request and log its line (request id, operation, status, time): one shape for
    the hub, the sites and the LIMS."""
    label = labels.get(observed.request)
    if metrics is not None:
        metrics.requests.labels(label, str(status)).inc()
        metrics.latency.labels(label).observe(seconds)
    log.info(
        "graphql request_id=%s operation=%s status=%d ms=%.1f",
        observed.request_id,
        label,
        status,
        seconds * 1000,
        extra={"request_id": observed.request_id, "operation": label, "status": status},
    )
