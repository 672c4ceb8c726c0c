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
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
    ) as client:
        assert (await client.get("/health")).json() == {
            "status": "ok",
            "lims": "crims",
            "schemaVersion": "1.1.0",
        }
        assert (await client.get("/ready")).json() == {"status": "ready", "lims": "crims"}
        r = await client.post(
            "/graphql", json={"query": SEARCH}, headers={"accept": "application/graphql-response+json"}
        )
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
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
        ) as client:
            r = await client.post("/graphql", json={"query": SEARCH})
            assert r.status_code == 200
            error = r.json()["errors"][0]
            assert (
                error["extensions"]["code"] == "BACKEND_UNAVAILABLE"
                and error["extensions"]["site"] == "crims"
            )
            assert "LIMS store unavailable" in error["message"]
            ready = await client.get("/ready")
            assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    finally:
        await store.close()


def test_bad_name_is_refused():
    import pytest

    with pytest.raises(ValueError):
        create_lims_app(LimsStore("postgresql://unused"), name="Not A Name")


async def test_a_lims_with_hub_keys_answers_its_hubs_only(lims_store, hub_tokens):
    """Issue 15: the LIMS checked no caller, so an embargoed sample's full crystallisation record came
    back to anyone who could reach it. Now it answers only what a trusted hub vouches for."""
    import httpx
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from site_adapter.lims.app import create_lims_app

    app = create_lims_app(lims_store, name="lims", manage_store=False, trusted_keys=[hub_tokens.public_key])
    query = {
        "query": "query($r: [_Any!]!) { _entities(representations: $r) { ... on Sample { crystallisation { method } } } }",
        "variables": {"r": [{"__typename": "Sample", "id": "x"}]},
    }
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
    ) as client:
        direct = await client.post("/graphql", json=query)
        assert direct.status_code == 401
        assert direct.json()["errors"][0]["extensions"]["code"] == "CALLER_TOKEN_REQUIRED"
        assert "data" not in direct.json()
        forged = await client.post(
            "/graphql",
            json=query,
            headers=hub_tokens.headers(hub_tokens("lims", "boaty", key=Ed25519PrivateKey.generate())),
        )
        assert forged.status_code == 401
        vouched = await client.post(
            "/graphql",
            json={"query": "{ __typename }"},
            headers=hub_tokens.headers(hub_tokens("lims", "boaty")),
        )
        assert vouched.status_code == 200 and vouched.json()["data"] == {"__typename": "Query"}
        assert (await client.get("/health")).status_code == 200  # health stays open for the hub's checks
