"""Where each part keeps its data: a configured DSN, else a database on the embedded server."""

from __future__ import annotations

import asyncio

from mxhub.embedded import embedded_dsn, ensure_database


async def resolve_pg_dsn(dsn: str | None, database: str) -> str:
    """`dsn` when given; otherwise `database` on the per-user embedded PostgreSQL (started if needed)."""
    if dsn:
        return dsn
    server = await asyncio.to_thread(embedded_dsn, "default")
    return await ensure_database(server, database)
