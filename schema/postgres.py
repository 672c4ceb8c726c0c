"""One PostgreSQL pool and one migration runner for every store: the hub's registry, a site's native
store and a LIMS (issue 14, item 5). The only module of mx_schema that imports asyncpg; no store's
tables or queries here.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import asyncpg

# Failures to reach the server at all (refused, unknown host, timeout, bad password, no such database).
CONNECT_FAILURES: tuple[type[BaseException], ...] = (TimeoutError, OSError, asyncpg.PostgresError)
# Failures of the server, not of a statement: a pool reconnects by itself once PostgreSQL is back.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def reason(exc: BaseException) -> str:
    """The first line of an error (at most 200 characters), for a one-line message."""
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


class Pool:
    """An asyncpg pool opened on start and closed on stop; `raw` is the asyncpg pool itself."""

    def __init__(
        self,
        dsn: str,
        *,
        min_size: int = 1,
        max_size: int = 4,
        timeout: float = 10,
        init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    ) -> None:
        self.dsn = dsn
        self._options: dict[str, Any] = {"min_size": min_size, "max_size": max_size, "timeout": timeout}
        if init is not None:
            self._options["init"] = init
        self._pool: asyncpg.Pool | None = None

    @property
    def is_open(self) -> bool:
        return self._pool is not None

    async def open(self) -> asyncpg.Pool:
        """Connect (min_size connections); raises one of CONNECT_FAILURES when the server is out of reach."""
        if self._pool is None:
            self._pool = await asyncpg.create_pool(self.dsn, **self._options)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def raw(self) -> asyncpg.Pool:
        """The open asyncpg pool; RuntimeError before open() or after close()."""
        if self._pool is None:
            raise RuntimeError("the PostgreSQL pool is not open")
        return self._pool

    def acquire(self) -> Any:
        """`async with pool.acquire() as conn:` one connection of the pool."""
        return self.raw.acquire()


@dataclass(frozen=True)
class Migrations:
    """Versioned `.sql` files in `package`'s `folder`, applied in file-name order, each once, each in its
    own transaction, recorded in the version table `table` (one per store, so stores may share a database).

    `adopt` recognises a database set up before that table existed (the registry's and the LIMS's old
    runners kept no versions): version -> a table whose presence proves that version was applied; those
    versions are recorded, not re-run, when the version table is first created.
    """

    package: str
    table: str
    folder: str = "migrations"
    adopt: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _TABLE.fullmatch(self.table):
            raise ValueError(f"version table {self.table!r} is not a plain lower-case SQL name")

    def files(self) -> list[tuple[str, str]]:
        """(version, sql) pairs sorted by version: the file name without `.sql`."""
        folder = resources.files(self.package) / self.folder
        scripts = sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name)
        return [(p.name.removesuffix(".sql"), p.read_text(encoding="utf-8")) for p in scripts]

    @property
    def lock_id(self) -> int:
        """The advisory lock of this store's migrations: a stable 63-bit number from the table name."""
        return int.from_bytes(hashlib.sha256(self.table.encode()).digest()[:8], "big") >> 1

    async def apply(self, conn: asyncpg.Connection) -> list[str]:
        """Apply the migrations this database lacks; return the versions applied now (adopted ones are
        not among them). Concurrent starters queue on pg_advisory_xact_lock, so each file runs once."""
        applied: list[str] = []
        for version, sql in self.files():
            async with conn.transaction():
                if version in await self._done(conn):
                    continue
                await conn.execute(sql)
                await conn.execute(f"INSERT INTO {self.table} (version) VALUES ($1)", version)
            applied.append(version)
        return applied

    async def _done(self, conn: asyncpg.Connection) -> set[str]:
        """Inside the caller's transaction: take the lock, make the version table, read what is done."""
        await conn.execute("SELECT pg_advisory_xact_lock($1)", self.lock_id)
        if await conn.fetchval("SELECT to_regclass($1)", self.table) is None:
            await conn.execute(
                f"CREATE TABLE {self.table} ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for version, proof in self.adopt.items():
                if await conn.fetchval("SELECT to_regclass($1)", proof) is not None:
                    await conn.execute(f"INSERT INTO {self.table} (version) VALUES ($1)", version)
        return {r["version"] for r in await conn.fetch(f"SELECT version FROM {self.table}")}
