"""The native store's versioned migrations (its migrations/ folder), applied by mx_schema.postgres.

Databases migrated before issue 14 keep their version table, `schema_migration`, with the same rows.
"""

from __future__ import annotations

import asyncpg

from mx_schema.postgres import Migrations

MIGRATIONS = Migrations("site_adapter.backends.native", table="schema_migration")


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) pairs sorted by version, read from the package's migrations/ folder."""
    return MIGRATIONS.files()


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations this database lacks; return the versions applied now."""
    return await MIGRATIONS.apply(conn)
