"""The LIMS store's versioned migrations (its migrations/ folder), applied by mx_schema.postgres.

Only DDL: reads live in store.py, writes in ingest.py. A store created before issue 14 (tables made by
one inline script, no version table) is recognised by its tables and not migrated again.
"""

from __future__ import annotations

import asyncpg

from mx_schema.postgres import Migrations

MIGRATIONS = Migrations("site_adapter.lims", table="lims_schema_migration", adopt={"001_lims": "lims_soak"})


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the migrations this LIMS database lacks; return the versions applied now."""
    return await MIGRATIONS.apply(conn)
