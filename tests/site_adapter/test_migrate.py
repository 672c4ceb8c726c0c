import asyncpg

from site_adapter.backends.native.migrate import migrate, migration_files


async def test_template_has_every_migration_and_rerun_applies_nothing(native_dsn):
    conn = await asyncpg.connect(native_dsn)
    try:
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_migration ORDER BY 1")]
        assert versions == [v for v, _ in migration_files()]
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM data_collection") == 0
    finally:
        await conn.close()


async def test_a_store_migrated_by_the_old_runner_is_not_migrated_again(empty_pg_dsn):
    # The runner before issue 14: table schema_migration (version, applied_at), one row per file.
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        await conn.execute(
            "CREATE TABLE schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for version, sql in migration_files():
            await conn.execute(sql)
            await conn.execute(
                "INSERT INTO schema_migration (version, applied_at) VALUES ($1, '2020-01-01T00:00:00Z')",
                version,
            )
        assert await migrate(conn) == []
        rows = await conn.fetch("SELECT version, applied_at FROM schema_migration ORDER BY 1")
        assert [r["version"] for r in rows] == [v for v, _ in migration_files()]
        assert {r["applied_at"].year for r in rows} == {2020}  # the old rows, untouched
    finally:
        await conn.close()


async def test_a_store_missing_its_newest_migration_gets_only_that(empty_pg_dsn):
    first, *rest = migration_files()
    conn = await asyncpg.connect(empty_pg_dsn)
    try:
        await conn.execute(
            "CREATE TABLE schema_migration (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        await conn.execute(first[1])
        await conn.execute("INSERT INTO schema_migration (version) VALUES ($1)", first[0])
        assert await migrate(conn) == [v for v, _ in rest]
    finally:
        await conn.close()
