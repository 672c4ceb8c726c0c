"""When the command line turns tracing on (mxhub/tracing.py), read as OpenTelemetry's environment
variables are specified (opentelemetry.io, "SDK environment variables"): OTEL_TRACES_EXPORTER names the
exporter and `none` turns it off; an OTLP endpoint alone implies otlp. Unlike the SDK's default (otlp),
mxhub exports nothing when nothing is configured."""

from __future__ import annotations

import pytest

from mxhub.tracing import configure, wanted_exporter


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({}, None),
        ({"OTEL_TRACES_EXPORTER": "none"}, None),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, None),
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "OTLP"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "otlp"),
    ],
)
def test_the_exporter_the_environment_asks_for(env, want):
    assert wanted_exporter(env) == want


def test_nothing_configured_installs_nothing():
    assert configure("mxhub-test", {}) is None


def test_an_exporter_mxhub_does_not_ship_is_a_clear_error():
    with pytest.raises(ValueError, match="zipkin"):
        configure("mxhub-test", {"OTEL_TRACES_EXPORTER": "zipkin"})
