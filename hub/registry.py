"""The registry of sites in PostgreSQL: what the hub fans out to, and each site's health.

Read from memory on the fan-out path; with several hubs on one registry, a change any of them makes
bumps the shared registry version (shared.py) and the others reload before their next request."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass

import asyncpg

from mx_hub.shared import MemoryState, SharedState
from mx_schema.postgres import Migrations, Pool

# The registry's version table; a registry migrated before it existed (every script run on each start,
# each idempotent) is recognised by its tables and not migrated again.
MIGRATIONS = Migrations(
    "mx_hub", table="registry_schema_migration", adopt={"001_registry": "site", "002_security": "hub_key"}
)


@dataclass(frozen=True, slots=True)
class SiteRecord:
    name: str
    url: str  # the site's GraphQL endpoint
    kind: str  # "site" or "lims"
    schema_version: str | None
    backend: str | None
    status: str  # up | down | unknown
    latency_ms: float | None
    last_seen: dt.datetime | None
    last_error: str | None
    sdl: str | None = None  # what the site served at registration or its last health check (issue 21)
    sdl_seen: dt.datetime | None = None


class Registry:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._pool = Pool(dsn, min_size=1, max_size=4, timeout=10)
        self._cache: dict[str, SiteRecord] = {}
        self.shared: SharedState = MemoryState(0)  # the hub's (app.py sets it before start)
        self._version: str | None = None  # the shared registry version self._cache was read at
        self._sync_lock = asyncio.Lock()

    async def start(self) -> None:
        pool = await self._pool.open()
        async with pool.acquire() as conn:
            await MIGRATIONS.apply(conn)
        self._version = await self.shared.registry_version()  # read before the rows: no change is lost
        await self.refresh()

    async def sync(self) -> None:
        """Reload the sites if another hub changed them since this one read them (one GET when shared)."""
        version = await self.shared.registry_version()
        if version is None or version == self._version:
            return
        async with self._sync_lock:
            if version != self._version:
                await self.refresh()
                self._version = version

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        if not self._pool.is_open:
            raise RuntimeError("registry not started")
        return self._pool.raw

    async def refresh(self) -> None:
        rows = await self.pool.fetch("SELECT * FROM site ORDER BY name")
        self._cache = {r["name"]: _record(r) for r in rows}

    def sites(self, kind: str | None = "site") -> list[SiteRecord]:
        """Registered sites (from memory: the fan-out path never waits on the registry database)."""
        return [s for s in self._cache.values() if kind is None or s.kind == kind]

    def get(self, name: str) -> SiteRecord | None:
        return self._cache.get(name)

    async def upsert(
        self,
        name: str,
        url: str,
        kind: str,
        schema_version: str | None,
        backend: str | None,
        sdl: str | None,
        latency_ms: float | None,
    ) -> SiteRecord:
        row = await self.pool.fetchrow(
            """INSERT INTO site (name, url, kind, schema_version, backend, sdl, status, latency_ms, last_seen,
                   sdl_seen)
               VALUES ($1, $2, $3, $4, $5, $6, 'up', $7, now(), now())
               ON CONFLICT (name) DO UPDATE SET url = $2, kind = $3, schema_version = $4, backend = $5, sdl = $6,
                   status = 'up', latency_ms = $7, last_seen = now(), last_error = NULL, sdl_seen = now()
               RETURNING *""",
            name,
            url,
            kind,
            schema_version,
            backend,
            sdl,
            latency_ms,
        )
        rec = _record(row)
        self._cache[name] = rec
        await self.shared.registry_changed()
        return rec

    async def remove(self, name: str) -> bool:
        done = await self.pool.execute("DELETE FROM site WHERE name = $1", name)
        self._cache.pop(name, None)
        await self.shared.registry_changed()
        return str(done).endswith("1")

    async def mark(
        self,
        name: str,
        status: str,
        *,
        latency_ms: float | None = None,
        error: str | None = None,
        served: tuple[str, str] | None = None,
    ) -> None:
        """Record a health check; `served` (schema version, SDL) as the site now serves them, when known."""
        if status == "up":
            version, sdl = served if served is not None else (None, None)
            row = await self.pool.fetchrow(
                "UPDATE site SET status = 'up', latency_ms = $2, last_seen = now(), last_error = NULL,"
                " schema_version = COALESCE($3, schema_version), sdl = COALESCE($4, sdl),"
                " sdl_seen = CASE WHEN $4::text IS NULL THEN sdl_seen ELSE now() END"
                " WHERE name = $1 RETURNING *",
                name,
                latency_ms,
                version,
                sdl,
            )
        else:
            row = await self.pool.fetchrow(
                "UPDATE site SET status = $2, last_error = $3 WHERE name = $1 RETURNING *",
                name,
                status,
                error,
            )
        if row is not None:
            self._cache[name] = _record(row)
            await self.shared.registry_changed()


def _record(r: asyncpg.Record) -> SiteRecord:
    return SiteRecord(
        name=r["name"],
        url=r["url"],
        kind=r["kind"],
        schema_version=r["schema_version"],
        backend=r["backend"],
        status=r["status"],
        latency_ms=r["latency_ms"],
        last_seen=r["last_seen"],
        last_error=r["last_error"],
        sdl=r["sdl"],
        sdl_seen=r["sdl_seen"],
    )
