"""A started IspybBackend over the session's ISPyB fixture, shared by the read-only tests here."""

from __future__ import annotations

import pytest

from site_adapter.backends.ispyb import IspybBackend


@pytest.fixture(scope="session")
async def ispyb(ispyb_dsn):
    backend = IspybBackend(ispyb_dsn, pool_size=4)
    await backend.start()
    yield backend
    await backend.close()
