"""An ISPyB site's /metrics and spans (issue 18, item 4): its asyncmy pool and requests counted, and each
statement to MariaDB a span under the site's request span, over Diamond's real ISPyB fixture."""

from __future__ import annotations

import httpx
from opentelemetry import trace
from prometheus_client.parser import text_string_to_metric_families

from site_adapter.app import create_app

QUERY = "{ dataCollections(first: 3) { totalCount edges { node { localId } } } }"


async def test_ispyb_site_metrics_and_database_spans(ispyb, spans):
    app = create_app(ispyb, site="dls", manage_backend=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://dls.test") as c:
        before = ispyb.db.queries
        body = (await c.post("/graphql", json={"query": QUERY}, headers={"x-request-id": "ispyb-1"})).json()
        assert "errors" not in body, body
        statements = ispyb.db.queries - before
        page = (await c.get("/metrics")).text
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(page)
        for s in family.samples
    }
    assert found[("mxhub_site_requests_total", (("operation", "dataCollections"), ("status", "200")))] == 1
    assert (
        found[("mxhub_db_pool_connections", (("pool", "ispyb"), ("state", "max")))] == ispyb.db.pool.maxsize
    )
    finished = spans.get_finished_spans()
    site_span = next(
        s
        for s in finished
        if s.kind == trace.SpanKind.SERVER and s.attributes.get("mxhub.request_id") == "ispyb-1"
    )
    mine = [s for s in finished if s.context.trace_id == site_span.context.trace_id]
    db = [s for s in mine if s.attributes.get("db.system") == "mysql"]
    assert len(db) == statements > 0  # one span per statement the backend counted
    by_id = {s.context.span_id: s for s in mine}
    for d in db:
        parent = d.parent
        while parent is not None and parent.span_id != site_span.context.span_id:
            parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
        assert parent is not None, d.name
    assert any("DataCollection" in str(d.attributes.get("db.query.text")) for d in db)
