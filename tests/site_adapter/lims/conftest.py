"""LIMS fixtures: a demo LIMS matching the session's demo sites (esrf 1500, diamond 900 collections), served
in-process; and empty LIMS stores for tests that write."""

from __future__ import annotations

import httpx
import pytest

from site_adapter.lims.app import create_lims_app
from site_adapter.lims.store import LimsStore
from tests.fixtures.lims import DEMO_LIMS_SITES  # noqa: E402,F401  (lims_demo_dsn comes from tests/fixtures/lims.py)
from tests.fixtures.sites import GraphQLClient


@pytest.fixture(scope="session")
async def lims_query_log():
    return []


@pytest.fixture(scope="session")
async def lims_store(lims_demo_dsn, lims_query_log):
    # One connection, so the warm-up in a test covers asyncpg's per-connection type introspection.
    store = LimsStore(lims_demo_dsn, min_size=1, max_size=1, query_log=lims_query_log)
    await store.start()
    yield store
    await store.close()


@pytest.fixture(scope="session")
async def lims_gql(lims_store):
    app = create_lims_app(lims_store, name="lims", manage_store=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
    ) as client:
        yield GraphQLClient(client)


@pytest.fixture
async def empty_lims(empty_pg_dsn):
    """A started store on a fresh, migrated, empty database."""
    store = LimsStore(empty_pg_dsn)
    await store.start()
    yield store
    await store.close()


@pytest.fixture
async def empty_lims_gql(empty_lims):
    app = create_lims_app(empty_lims, name="crims", manage_store=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lims.test"
    ) as client:
        yield GraphQLClient(client)
