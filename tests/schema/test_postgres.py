"""The one migration runner (mx_schema.postgres.Migrations) on a real PostgreSQL: files applied in order,
each once and in its own transaction, concurrent starters serialised, and databases migrated by the
runners it replaced (issue 14, item 5) recognised rather than migrated again."""

from __future__ import annotations

import asyncio
import sys
from importlib import resources

import asyncpg
import pytest

from mx_hub import registry
from mx_schema.postgres import Migrations, Pool
from site_adapter.lims import ddl


async def _tables(conn: asyncpg.Connection) -> set[str]:
    rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return {r["tablename"] for r in rows}


async def _versions(conn: asyncpg.Connection, table: str) -> list[str]:
    return [r["version"] for r in await conn.fetch(f"SELECT version FROM {table} ORDER BY version")]


@pytest.fixture
def scratch_package(tmp_path, monkeypatch):
    """A package `mig_scratch` whose migrations/ folder a test fills."""
    package = tmp_path / "mig_scratch"
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield package / "migrations"
    sys.modules.pop("mig_scratch", None)


async def test_files_apply_in_order_once_and_a_failure_rolls_back_its_own_file(empty_pg_dsn, scratch_package):
    (scratch_package / "001_a.sql").write_text("CREATE TABLE a (x int); INSERT INTO a VALUES (1);")
    (scratch_package / "002_b.sql").write_text("CREATE TABLE b (x int); INSERT INTO nowhere VALUES (1);")
    (scratch_package / "notes.txt").write_text("not a migration")
    runner = Migrations("mig_scratch", table="scratch_migration")
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        with pytest.raises(asyncpg.UndefinedTableError):
            await runner.apply(conn)
        assert await _versions(conn, "scratch_migration") == ["001_a"]
        assert await _tables(conn) == {"a", "scratch_migration"}  # 002's table b rolled back with it
        (scratch_package / "002_b.sql").write_text("CREATE TABLE b (x int);")
        assert await runner.apply(conn) == ["002_b"]
        assert await runner.apply(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM a") == 1  # 001 ran once
    finally:
        await conn.close()


async def test_concurrent_starters_apply_each_file_once(empty_pg_dsn):
    pool = Pool(empty_pg_dsn, min_size=3, max_size=3)
    raw = await pool.open()
    try:

        async def start() -> list[str]:
            async with raw.acquire() as conn:
                return await ddl.MIGRATIONS.apply(conn)

        results = await asyncio.gather(start(), start(), start())
        files = [v for v, _ in ddl.MIGRATIONS.files()]
        assert sorted(v for r in results for v in r) == files  # each version applied by exactly one
        async with pool.acquire() as conn:
            assert await _versions(conn, "lims_schema_migration") == files
    finally:
        await pool.close()
    with pytest.raises(RuntimeError):
        pool.raw  # noqa: B018 - closed: no pool to hand out


async def test_a_registry_migrated_by_the_old_runner_is_recognised(empty_pg_dsn):
    # The old runner ran every script of hub/migrations on each start and kept no versions.
    folder = resources.files("mx_hub") / "migrations"
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        for name in ("001_registry.sql", "002_security.sql"):
            await conn.execute((folder / name).read_text(encoding="utf-8"))
        await conn.execute("INSERT INTO site (name, url) VALUES ('esrf', 'http://esrf.test/graphql')")
        # adopted, not re-run; migrations written since (003, issue 21) are applied
        assert await registry.MIGRATIONS.apply(conn) == ["003_capabilities"]
        assert await _versions(conn, "registry_schema_migration") == [
            "001_registry",
            "002_security",
            "003_capabilities",
        ]
        assert await conn.fetchval("SELECT url FROM site WHERE name = 'esrf'") == "http://esrf.test/graphql"
    finally:
        await conn.close()
    hub_registry = registry.Registry(empty_pg_dsn)
    await hub_registry.start()
    try:
        assert [s.name for s in hub_registry.sites()] == ["esrf"]
    finally:
        await hub_registry.close()


async def test_an_old_registry_without_the_security_tables_gets_only_those(empty_pg_dsn):
    folder = resources.files("mx_hub") / "migrations"
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        await conn.execute((folder / "001_registry.sql").read_text(encoding="utf-8"))
        assert await registry.MIGRATIONS.apply(conn) == ["002_security", "003_capabilities"]
        assert {"site", "hub_key", "api_token"} <= await _tables(conn)
    finally:
        await conn.close()


# The LIMS tables as the old inline script (site_adapter/lims/ddl.py, LIMS_DDL, before issue 14) made
# them, abridged to the last table it created, which is what the new runner looks for.
OLD_LIMS_DDL = """
CREATE TABLE IF NOT EXISTS lims_crystal (id bigserial PRIMARY KEY, pin_barcode text);
CREATE TABLE IF NOT EXISTS lims_soak (
    crystal_id bigint NOT NULL REFERENCES lims_crystal (id) ON DELETE CASCADE,
    ordinal integer NOT NULL,
    compound text NOT NULL,
    PRIMARY KEY (crystal_id, ordinal)
);
"""


async def test_a_lims_made_by_the_old_script_is_recognised(empty_pg_dsn):
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        await conn.execute(OLD_LIMS_DDL)
        assert await ddl.migrate(conn) == []
        assert await _versions(conn, "lims_schema_migration") == ["001_lims"]
        # not re-applied: 001_lims would have created the tables the abridged old script did not
        assert "lims_construct" not in await _tables(conn)
    finally:
        await conn.close()


async def test_a_fresh_lims_gets_every_table(empty_pg_dsn):
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        assert await ddl.migrate(conn) == ["001_lims"]
        assert {"lims_construct", "lims_crystal", "lims_soak"} <= await _tables(conn)
    finally:
        await conn.close()


def test_a_version_table_name_must_be_plain():
    with pytest.raises(ValueError):
        Migrations("mx_hub", table="x; DROP TABLE site")
