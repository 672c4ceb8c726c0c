"""The process's OpenTelemetry tracer provider, from the standard OTEL_* environment variables: spans
are exported only when an exporter is asked for (docs/operations.md), else the API stays a no-op.

Configures once per process; the hub and the sites only create spans (mx_hub.tracing, site_adapter.tracing).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

log = logging.getLogger("mxhub")

EXPORTERS = ("otlp", "console")


def wanted_exporter(env: Mapping[str, str]) -> str | None:
    """The exporter the environment asks for: OTEL_TRACES_EXPORTER (otlp, console; none turns tracing
    off), else otlp when an OTLP endpoint is given, else None (no tracing; the spec's default of otlp
    would make every hub try to reach a collector nobody runs)."""
    named = env.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if named:
        return None if named == "none" else named
    if env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return "otlp"
    return None


def configure(service: str, env: Mapping[str, str] | None = None) -> str | None:
    """Install a tracer provider for `service` (unless OTEL_SERVICE_NAME names it) exporting as the
    environment asks; returns the exporter's name, or None when tracing stays off."""
    env = os.environ if env is None else env
    exporter_name = wanted_exporter(env)
    if exporter_name is None:
        return None
    if exporter_name not in EXPORTERS:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={exporter_name!r}: mxhub exports traces with one of {EXPORTERS}"
        )
    from opentelemetry import trace
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        # OTLP over HTTP/protobuf; it reads OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT and _HEADERS itself.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    resource = Resource.create({SERVICE_NAME: env.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("traces of %s exported with %s", service, exporter_name)
    return exporter_name
