"""The native store keeps instants (timestamptz, migration 003_instants): written in any offset, served in
UTC with the same instant; a store migrated before issue 21 keeps its naive times as UTC; the embargo
compares instants at a summer-time change (docs/time.md)."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from site_adapter import access
from site_adapter.access import EmbargoPolicy, Scope, Viewer
from site_adapter.backends.base import DataCollectionFilter, PageRequest, SessionFilter
from site_adapter.backends.native import NativeBackend
from site_adapter.backends.native.migrate import migrate, migration_files

PARIS_SUMMER = dt.timezone(dt.timedelta(hours=2))
LONDON_WINTER = dt.timezone(dt.timedelta(0))
# Collections written with the offsets their beamlines were on; as instants (UTC) they interleave.
WRITTEN = {
    1: dt.datetime(2021, 10, 31, 2, 30, tzinfo=PARIS_SUMMER),  # 00:30Z
    2: dt.datetime(2021, 10, 31, 1, 10, tzinfo=LONDON_WINTER),  # 01:10Z
    3: dt.datetime(2021, 10, 31, 2, 50, tzinfo=PARIS_SUMMER),  # 00:50Z
    4: dt.datetime(2021, 10, 31, 0, 40, tzinfo=dt.timezone(dt.timedelta(hours=1))),  # 23:40Z the day before
}
# The session ended at 01:30 Paris time (CET, UTC+1) on the night the clocks went forward: 00:30Z.
SESSION_END = dt.datetime(2021, 3, 28, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))


async def _world(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("INSERT INTO proposal (id, code) VALUES (1, 'tz1')")
        await conn.execute(
            "INSERT INTO session (id, proposal_id, visit_number, visit, beamline, start_time, end_time)"
            " VALUES (1, 1, 1, 'tz1-1', 'id30', $1, $2)",
            SESSION_END - dt.timedelta(hours=8),
            SESSION_END,
        )
        for i, t in WRITTEN.items():
            await conn.execute(
                "INSERT INTO data_collection (id, session_id, proposal_id, beamline, start_time) VALUES ($1, 1, 1, 'id30', $2)",
                i,
                t,
            )
    finally:
        await conn.close()


@pytest.fixture
async def store(native_dsn):
    await _world(native_dsn)
    backend = NativeBackend(native_dsn, min_size=1, max_size=2, time_zone="Europe/Paris")
    await backend.start()
    yield backend
    await backend.close()


async def test_instants_round_trip_and_order_by_instant(store):
    page = await store.data_collections(DataCollectionFilter(), PageRequest(first=10))
    got = {int(r.local_id): r.start_time for _, r in page.items}
    assert got == WRITTEN  # the same instants (aware datetimes compare as instants)
    assert all(t is not None and t.utcoffset() == dt.timedelta(0) for t in got.values())  # served in UTC
    assert [int(r.local_id) for _, r in page.items] == sorted(WRITTEN, key=lambda i: WRITTEN[i], reverse=True)
    walked, after = [], None
    while True:
        p = await store.data_collections(DataCollectionFilter(), PageRequest(first=1, after=after))
        walked += [int(r.local_id) for _, r in p.items]
        if not p.has_next_page:
            break
        after = p.items[-1][0]
    assert walked == [int(r.local_id) for _, r in page.items]


async def test_bounds_in_other_offsets_compare_instants(store):
    lo = dt.datetime(2021, 10, 31, 1, 45, tzinfo=dt.timezone(dt.timedelta(hours=1)))  # 00:45Z
    hi = dt.datetime(2021, 10, 31, 1, 10)  # no offset: UTC
    page = await store.data_collections(
        DataCollectionFilter(start_after=lo, start_before=hi), PageRequest(first=10)
    )
    assert {int(r.local_id) for _, r in page.items} == {
        i for i, t in WRITTEN.items() if lo <= t < hi.replace(tzinfo=dt.UTC)
    }
    assert {int(r.local_id) for _, r in page.items} == {3}


@pytest.mark.parametrize("side", [-15, 15])
async def test_embargo_at_a_summer_time_change(store, side):
    cutoff = SESSION_END + dt.timedelta(minutes=side)
    years = (dt.datetime.now(dt.UTC) - cutoff).total_seconds() / (365.25 * 86400)
    token = access.SCOPE.set(Scope(Viewer(), EmbargoPolicy(years)))
    try:
        sessions = await store.sessions(SessionFilter(), PageRequest(first=10))
        collections = await store.data_collections(DataCollectionFilter(), PageRequest(first=10))
    finally:
        access.SCOPE.reset(token)
    public = side > 0
    assert (len(sessions.items) == 1) is public
    assert collections.total_count == (len(WRITTEN) if public else 0)


async def test_a_store_of_naive_utc_times_migrates_to_the_same_instants(empty_pg_dsn):
    """Before 003_instants the columns were `timestamp` holding naive UTC: they become those instants,
    and sort_time with its indexes is made again."""
    files = migration_files()
    old = [(v, sql) for v, sql in files if v < "003"]
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        await conn.execute(
            "CREATE TABLE schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, sql in old:
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migration (version) VALUES ($1)", version)
        await conn.execute("SET TIME ZONE 'Europe/Paris'")  # the server's zone must not matter
        await conn.execute("INSERT INTO proposal (id, code) VALUES (1, 'tz1')")
        await conn.execute(
            "INSERT INTO session (id, proposal_id, visit, start_time, end_time)"
            " VALUES (1, 1, 'tz1-1', '2021-03-28 00:30:00', '2021-10-31 01:30:00')"
        )
        await conn.execute(
            "INSERT INTO data_collection (id, session_id, start_time) VALUES (7, 1, '2021-10-31 01:30:00')"
        )
        await conn.execute("INSERT INTO data_collection (id, session_id) VALUES (8, 1)")
        assert await migrate(conn) == [v for v, _ in files if v >= "003"]
        row = await conn.fetchrow("SELECT start_time, end_time FROM session WHERE id = 1")
        assert row["start_time"] == dt.datetime(2021, 3, 28, 0, 30, tzinfo=dt.UTC)
        assert row["end_time"] == dt.datetime(2021, 10, 31, 1, 30, tzinfo=dt.UTC)
        rows = await conn.fetch(
            "SELECT id, start_time, sort_time FROM data_collection ORDER BY sort_time DESC, id DESC"
        )
        assert [(r["id"], r["start_time"]) for r in rows] == [
            (7, dt.datetime(2021, 10, 31, 1, 30, tzinfo=dt.UTC)),
            (8, None),
        ]
        assert rows[1]["sort_time"] == dt.datetime(1, 1, 1, tzinfo=dt.UTC)
        types = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE column_name IN ('start_time', 'end_time', 'sort_time') AND table_schema = 'public'"
        )
        # Every such column is an instant: the 9 migration 003 converted, and those later migrations add.
        assert {r["data_type"] for r in types} == {"timestamp with time zone"}
        converted = {(r["table_name"], r["column_name"]) for r in types}
        assert {
            (t, c)
            for t in ("session", "data_collection_group", "data_collection", "processing_result")
            for c in ("start_time", "end_time")
        } | {("data_collection", "sort_time")} <= converted
        indexes = {
            r["indexname"]
            for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE tablename = 'data_collection'")
        }
        assert {
            "dc_order",
            "dc_sample",
            "dc_protein",
            "dc_session",
            "dc_proposal",
            "dc_beamline",
            "dc_experiment_type",
        } <= indexes
    finally:
        await conn.close()
