"""Metrics, traces and request ids across hub -> site -> database (issue 18, item 4): Prometheus text at
/metrics of the hub, a site and a LIMS, read with prometheus_client's own parser; one trace from the hub's
request to the site's database statement, by OpenTelemetry's in-memory exporter; the hub's request id in
the site's log record. The counts are checked against what the apps really received (a recorder)."""

from __future__ import annotations

import logging
import uuid
from contextlib import ExitStack

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from prometheus_client.parser import text_string_to_metric_families

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.hub import serve_hub
from tests.fixtures.sites import serve_in_thread

STITCHED = """{ dataCollections(filter: {site: "esrf"}, first: 20) { totalCount edges { node { localId
  sample { barcode crystallisation { pinBarcode } } } } } }"""


class Recorder:
    """Counts the GraphQL requests an app receives: the reference for its own request counter."""

    def __init__(self, app) -> None:
        self.app = app
        self.graphql = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"] == "/graphql":
            self.graphql += 1
        await self.app(scope, receive, send)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text page: (name, sorted labels) -> value, by prometheus_client's parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(found: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and labels.items() <= dict(ls).items())


@pytest.fixture
async def federation(hub_dsn, esrf_demo_dsn, lims_demo_dsn):
    with ExitStack() as stack:
        site_app = Recorder(None)
        site_app.app = _site_app(esrf_demo_dsn)
        site = stack.enter_context(serve_in_thread(site_app))
        lims_app = Recorder(create_lims_app(LimsStore(lims_demo_dsn, min_size=1, max_size=2), name="lims"))
        lims = stack.enter_context(serve_in_thread(lims_app))
        hub = stack.enter_context(serve_hub(hub_dsn, metrics_token="scrape-me"))
        assert "errors" not in await hub.register("esrf", site + "/graphql")
        assert "errors" not in await hub.register("lims", lims + "/graphql", kind="lims")
        yield hub, (site, site_app), (lims, lims_app)
        await hub.http.aclose()


def _site_app(dsn: str):
    from site_adapter.app import create_app
    from site_adapter.backends.native import NativeBackend

    return create_app(NativeBackend(dsn, min_size=1, max_size=3), site="esrf")


async def test_metrics_of_hub_site_and_lims(federation):
    hub, (site, site_app), (lims, lims_app) = federation
    body = await hub.query(STITCHED)
    assert "errors" not in body, body
    odd = await hub.http.post(
        "/graphql", json={"query": "query Q7f3 { noSuchField }", "operationName": "Q7f3"}
    )
    assert odd.json()["errors"]  # invalid: answered with errors (200 under application/json)
    async with httpx.AsyncClient(timeout=60) as c:
        refused = await c.get(hub.url + "/metrics")
        page = await c.get(hub.url + "/metrics", headers={"authorization": "Bearer scrape-me"})
        site_page = (await c.get(site + "/metrics")).text
        lims_page = (await c.get(lims + "/metrics")).text
    assert refused.status_code == 401  # the hub was given a metrics token
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    at_hub = samples(page.text)
    assert total(at_hub, "mxhub_hub_requests_total", operation="dataCollections", status="200") == 1
    # A query naming a field the schema lacks is counted under "other": labels never echo what callers send.
    assert total(at_hub, "mxhub_hub_requests_total", operation="other", status=str(odd.status_code)) == 1
    assert not any("Q7f3" in v or "noSuchField" in v for (_, ls) in at_hub for _, v in ls)
    assert total(at_hub, "mxhub_hub_request_seconds_count", operation="dataCollections") == 1
    # Every call to the site, registration's included, was counted, and each reached the site once.
    calls = total(at_hub, "mxhub_hub_site_calls_total", site="esrf")
    assert calls == site_app.graphql and calls >= 2
    assert total(at_hub, "mxhub_hub_site_call_seconds_count", site="esrf") == calls
    assert total(at_hub, "mxhub_hub_site_calls_total", site="lims") == lims_app.graphql
    assert total(at_hub, "mxhub_db_pool_connections", pool="registry", state="max") == 4
    reported = {(s["name"], s["status"]) for s in body["extensions"]["sites"]}
    for name, status in reported:  # what the answer reported per site, counted the same
        assert total(at_hub, "mxhub_hub_site_answers_total", site=name, status=status) == 1
    assert ("esrf", "ok") in reported

    at_site = samples(site_page)
    assert total(at_site, "mxhub_site_requests_total") == site_app.graphql
    assert total(at_site, "mxhub_site_requests_total", operation="dataCollections", status="200") >= 1
    assert total(at_site, "mxhub_db_pool_connections", pool="native", state="max") == 3

    at_lims = samples(lims_page)
    assert total(at_lims, "mxhub_lims_requests_total") == lims_app.graphql
    assert total(at_lims, "mxhub_lims_requests_total", operation="_entities", status="200") >= 1
    shown = [e["node"]["sample"] for e in body["data"]["dataCollections"]["edges"]]
    found = {s["crystallisation"]["pinBarcode"] for s in shown if s["crystallisation"] is not None}
    assert found  # the stitched answer's distinct crystals: each a record the LIMS found
    assert total(at_lims, "mxhub_lims_lookups_total") >= len({s["barcode"] for s in shown})
    assert total(at_lims, "mxhub_lims_lookup_records_total") >= len(found)
    assert total(at_lims, "mxhub_db_pool_connections", pool="lims", state="max") == 2


def _parent_chain(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[ReadableSpan]:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


async def test_one_trace_from_the_hub_to_the_sites_database(federation, spans):
    hub, _, _ = federation
    rid = f"trace-{uuid.uuid4().hex}"
    r = await hub.http.post("/graphql", json={"query": STITCHED}, headers={"x-request-id": rid})
    assert r.status_code == 200 and "errors" not in r.json()
    finished = spans.get_finished_spans()
    hub_span = next(
        s
        for s in finished
        if s.kind == trace.SpanKind.SERVER
        and s.instrumentation_scope.name == "mxhub.hub"
        and s.attributes.get("mxhub.request_id") == rid
    )
    trace_id = hub_span.context.trace_id
    mine = [s for s in finished if s.context.trace_id == trace_id]
    by_id = {s.context.span_id: s for s in mine}
    clients = [
        s for s in mine if s.kind == trace.SpanKind.CLIENT and s.attributes.get("mxhub.site") == "esrf"
    ]
    assert clients and all(c.parent.span_id == hub_span.context.span_id for c in clients)
    site_spans = [
        s for s in mine if s.kind == trace.SpanKind.SERVER and s.instrumentation_scope.name == "mxhub.site"
    ]
    assert site_spans
    client_ids = {c.context.span_id for c in clients} | {
        s.context.span_id for s in mine if s.kind == trace.SpanKind.CLIENT and s.attributes.get("mxhub.site")
    }
    for s in site_spans:  # each site or LIMS request continues the hub's call to it
        assert s.parent is not None and s.parent.span_id in client_ids, s.name
        assert s.parent.is_remote
    esrf_server = [s for s in site_spans if by_id[s.parent.span_id].attributes.get("mxhub.site") == "esrf"]
    db = [s for s in mine if s.attributes.get("db.system") == "postgresql"]
    assert db, "no database span in the trace"
    under_site = [d for d in db if any(p in esrf_server for p in _parent_chain(d, by_id))]
    assert under_site, "no database span under the site's span"
    assert any("data_collection" in str(d.attributes.get("db.query.text")) for d in under_site)


async def test_the_hubs_request_id_is_in_the_sites_log(federation, caplog):
    hub, _, _ = federation
    caplog.set_level(logging.INFO, logger="mxhub.site")
    caplog.set_level(logging.INFO, logger="mxhub.hub")
    given = f"client-{uuid.uuid4().hex[:12]}"
    r = await hub.http.post("/graphql", json={"query": STITCHED}, headers={"x-request-id": given})
    assert r.status_code == 200 and r.headers["x-request-id"] == given
    site_ids = [getattr(rec, "request_id", None) for rec in caplog.records if rec.name == "mxhub.site"]
    assert given in site_ids
    assert any(
        f"request_id={given}" in rec.getMessage() for rec in caplog.records if rec.name == "mxhub.site"
    )
    # Without one, the hub makes an id, answers it and sends it on.
    r = await hub.http.post("/graphql", json={"query": STITCHED})
    made = r.headers["x-request-id"]
    assert made and made != given
    assert made in [getattr(rec, "request_id", None) for rec in caplog.records if rec.name == "mxhub.site"]
    # An id that is no sane token (a header injection attempt) is replaced, not echoed.
    r = await hub.http.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": "a b\tc" * 40}
    )
    assert r.headers["x-request-id"] != "a b\tc" * 40
