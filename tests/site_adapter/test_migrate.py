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
