"""The LIMS app: health and readiness, GraphQL-over-HTTP media types, and a store that goes away."""

from __future__ import annotations

import uuid

import httpx

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.postgres import create_database, drop_database

SEARCH = '{ crystallisationSearch(filter: {proteinName: "lysozyme"}) { count } }'


async def test_health_ready_and_media_type(empty_lims):
    app = create_lims_app(empty_lims, name="crims", manage_store=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lims.test") as client:
        assert (await client.get("/health")).json() == {"status": "ok", "lims": "crims", "schemaVersion": "1.1.0"}
        assert (await client.get("/ready")).json() == {"status": "ready", "lims": "crims"}
        r = await client.post("/graphql", json={"query": SEARCH},
                              headers={"accept": "application/graphql-response+json"})
        assert r.headers["content-type"].startswith("application/graphql-response+json")
        assert r.json()["data"] == {"crystallisationSearch": {"count": 0}}
        assert r.json()["extensions"]["site"] == "crims"
        bad = await client.post("/graphql", json={"query": "{ nope }"})
        assert bad.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_lost_store_is_named_not_a_500(pg_server_dsn):
    name = f"mxhub_lims_gone_{uuid.uuid4().hex[:8]}"
    dsn = await create_database(pg_server_dsn, name)
    store = LimsStore(dsn)
    await store.start()
    try:
        app = create_lims_app(store, name="crims", manage_store=False)
        await drop_database(pg_server_dsn, name)  # WITH (FORCE): the pool's connections are cut
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lims.test") as client:
            r = await client.post("/graphql", json={"query": SEARCH})
            assert r.status_code == 200
            error = r.json()["errors"][0]
            assert error["extensions"]["code"] == "BACKEND_UNAVAILABLE" and error["extensions"]["site"] == "crims"
            assert "LIMS store unavailable" in error["message"]
            ready = await client.get("/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    finally:
        await store.close()


def test_bad_name_is_refused():
    import pytest

    with pytest.raises(ValueError):
        create_lims_app(LimsStore("postgresql://unused"), name="Not A Name")
