"""Schema detection: a minimal (ESRF-like) ISPyB still serves; a missing required column is refused."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from site_adapter.backends.base import BackendError, DataCollectionFilter, PageRequest, SessionFilter
from site_adapter.backends.ispyb import IspybBackend
from site_adapter.backends.ispyb.schema_check import REQUIRED_TABLES
from tests.fixtures.mariadb import admin_execute, with_database


def copy_required(source: str, target: str, drop: dict[str, str] | None = None) -> str:
    """CREATE TABLE ... AS SELECT of the required columns only: no SchemaStatus, Detector, Container,
    ProposalHasPerson, Session_has_Person, visit_number, ccHalf, ... (what an older schema may lack)."""
    statements = [f"CREATE DATABASE `{target}`"]
    for table, (required, _optional) in REQUIRED_TABLES.items():
        columns = [c for c in required if (drop or {}).get(table) != c]
        statements.append(
            f"CREATE TABLE `{target}`.`{table}` AS SELECT {', '.join(f'`{c}`' for c in columns)}"
            f" FROM `{source}`.`{table}`"
        )
    return "; ".join(statements)


@pytest.fixture(scope="module")
async def minimal_dsn(mariadb_server_dsn, ispyb_dsn):
    source, target = urlsplit(ispyb_dsn).path.lstrip("/"), f"mxhub_min_{uuid.uuid4().hex[:8]}"
    await admin_execute(mariadb_server_dsn, copy_required(source, target))
    yield with_database(mariadb_server_dsn, target)
    await admin_execute(mariadb_server_dsn, f"DROP DATABASE `{target}`")


async def test_minimal_schema_is_served_with_optional_values_null(minimal_dsn):
    backend = IspybBackend(minimal_dsn, pool_size=2)
    await backend.start()
    try:
        assert backend.schema_version.startswith("unknown")
        page = await backend.data_collections(
            DataCollectionFilter(sample_name="tlys_jan_4"), PageRequest(first=5)
        )
        assert [k[1] for k, _ in page.items] == [6017405, 993677]
        dc = page.items[1][1]
        assert dc.transmission is None and dc.flux is None and dc.detector_local_id is None
        assert dc.experiment_type is None and dc.file_template is None
        assert dc.session_local_id == "55167" and dc.sample_local_id == "374695"
        assert (dc.beam_centre_x, dc.beam_centre_y) == (
            pytest.approx(215.62),
            pytest.approx(208.978),
        )  # no refined centre
        results = (await backend.processing_by_collection(["993677"]))["993677"]
        assert len(results) == 6 and results[0].program is None and results[0].overall.cc_half is None
        assert min(r.overall.resolution_high for r in results) == pytest.approx(1.42)
        sessions = await backend.sessions(SessionFilter(proposal="cm14451"), PageRequest(first=5))
        assert sessions.total_count == 3 and sessions.items[0][1].visit_number is None
        assert (
            await backend.data_collections(DataCollectionFilter(visit="cm14451-1"), PageRequest(first=5))
        ).total_count == 0
        assert await backend.sessions_of_login("boaty") == set() and await backend.is_staff("staffy") is False
        assert await backend.detectors_by_id(["4"]) == {}
    finally:
        await backend.close()


async def test_missing_required_column_is_refused(mariadb_server_dsn, ispyb_dsn):
    source, target = urlsplit(ispyb_dsn).path.lstrip("/"), f"mxhub_bad_{uuid.uuid4().hex[:8]}"
    await admin_execute(mariadb_server_dsn, copy_required(source, target, drop={"DataCollection": "xBeam"}))
    try:
        backend = IspybBackend(with_database(mariadb_server_dsn, target))
        with pytest.raises(BackendError) as info:
            await backend.start()
        assert str(info.value).endswith(
            "is an unsupported ISPyB schema: missing columns DataCollection.xBeam"
        )
    finally:
        await admin_execute(mariadb_server_dsn, f"DROP DATABASE `{target}`")
