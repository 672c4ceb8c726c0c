"""The ISPyB backend's connection pool: DSN parsing, read-only sessions, driver errors -> BackendError.

Every query of the backend goes through Database.fetch; it never writes and never retries a query
by itself (a lost connection is reported, and the next call opens a fresh one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import asyncmy
from asyncmy.errors import MySQLError

from site_adapter import tracing
from site_adapter.backends.base import BackendError

# Errors that mean "the server or the link is gone" (client error codes 2002/2003/2006/2013,
# plus OSError from the socket): the connection is discarded rather than returned to the pool.
_LINK_ERRORS = (asyncmy.errors.OperationalError, asyncmy.errors.InterfaceError, OSError, asyncio.TimeoutError)

# tx_read_only (SET SESSION TRANSACTION READ ONLY as a variable): the server refuses any write.
# An empty sql_mode lets zero dates ('0000-00-00 00:00:00') be compared instead of raising.
_INIT = "SET SESSION tx_read_only = 1, SESSION sql_mode = ''"


@dataclass(frozen=True, slots=True)
class Dsn:
    host: str
    port: int
    user: str
    password: str
    database: str

    def safe(self) -> str:
        """The DSN without its password, fit for an error message."""
        return f"mysql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_dsn(dsn: str) -> Dsn:
    """Parse mysql://user:pass@host:port/db (mariadb:// is accepted too)."""
    parts = urlsplit(dsn)
    if parts.scheme not in ("mysql", "mariadb"):
        raise BackendError(
            f"ispyb backend: DSN must start with mysql:// or mariadb://, not {parts.scheme or dsn!r}"
        )
    database = parts.path.lstrip("/")
    if not database:
        raise BackendError("ispyb backend: DSN names no database (mysql://user@host:3306/ispyb)")
    try:
        port = parts.port or 3306
    except ValueError:
        raise BackendError("ispyb backend: DSN has an invalid port") from None
    return Dsn(
        host=parts.hostname or "127.0.0.1",
        port=port,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=unquote(database),
    )


def describe(exc: BaseException) -> str:
    """One line naming what went wrong, without a traceback."""
    args: tuple[Any, ...] = tuple(getattr(exc, "args", ()))
    if len(args) == 2 and isinstance(args[0], int):
        return f"{args[1]} (error {args[0]})"
    return str(exc) or type(exc).__name__


class Database:
    """A small pool of read-only connections to one ISPyB schema."""

    def __init__(
        self, dsn: str, *, pool_size: int = 10, connect_timeout: float = 5.0, query_timeout: float = 30.0
    ) -> None:
        # A malformed DSN is reported by open() (start), like every other start-up problem.
        self._dsn_error: BackendError | None = None
        try:
            self.dsn = parse_dsn(dsn)
        except BackendError as exc:
            self._dsn_error, self.dsn = exc, Dsn("", 0, "", "", "")
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.query_timeout = query_timeout  # a hung replica must not hang the adapter
        self._pool: Any = None
        self._lock = asyncio.Lock()
        self.queries = 0  # statements sent, for tests that check batching

    async def open(self) -> None:
        async with self._lock:
            if self._pool is not None:
                return
            if self._dsn_error is not None:
                raise self._dsn_error
            d = self.dsn
            try:
                self._pool = await asyncio.wait_for(
                    asyncmy.create_pool(
                        minsize=1,
                        maxsize=self.pool_size,
                        host=d.host,
                        port=d.port,
                        user=d.user,
                        password=d.password,
                        database=d.database,
                        autocommit=True,  # each SELECT sees the replica's latest state
                        init_command=_INIT,
                        connect_timeout=self.connect_timeout,
                        charset="utf8mb4",
                        pool_recycle=600,
                    ),
                    timeout=self.connect_timeout + 1,
                )
            except (MySQLError, *_LINK_ERRORS) as exc:
                raise BackendError(f"ispyb backend: cannot connect to {d.safe()}: {describe(exc)}") from None

    @property
    def pool(self) -> Any:
        """The open asyncmy pool (None before open), for the site's metrics."""
        return self._pool

    async def close(self) -> None:
        async with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()
            await pool.wait_closed()

    @staticmethod
    async def _run(conn: Any, sql: str, args: Sequence[Any], named: bool = False) -> list[Any]:
        async with conn.cursor() as cur:
            await cur.execute(sql, tuple(args))
            rows = list(await cur.fetchall())
            if not named:
                return rows
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, r, strict=True)) for r in rows]

    async def fetch_rows(self, sql: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """As fetch, with each row a mapping from column label to value: records are read by name."""
        return await self.fetch(sql, args, named=True)

    async def fetch(self, sql: str, args: Sequence[Any] = (), *, named: bool = False) -> list[Any]:
        """Run one SELECT and return its rows (tuples; mappings when `named`); any failure becomes a
        BackendError naming the backend."""
        if self._pool is None:
            await self.open()
        pool = self._pool
        try:
            conn = await asyncio.wait_for(pool.acquire(), timeout=self.connect_timeout + 1)
        except (MySQLError, *_LINK_ERRORS) as exc:
            raise BackendError(f"ispyb backend: database unavailable: {describe(exc)}") from None
        broken = False
        try:
            self.queries += 1
            with tracing.db_span("mysql", sql):
                return await asyncio.wait_for(self._run(conn, sql, args, named), timeout=self.query_timeout)
        except TimeoutError:
            broken = True  # the reply may still arrive: this connection cannot be reused
            raise BackendError(f"ispyb backend: query timed out after {self.query_timeout:g} s") from None
        except _LINK_ERRORS as exc:
            broken = True
            raise BackendError(f"ispyb backend: lost connection to the database: {describe(exc)}") from None
        except MySQLError as exc:
            raise BackendError(f"ispyb backend: query failed: {describe(exc)}") from None
        finally:
            if broken:
                # A dead socket must not go back to the pool: close it so the pool forgets it
                # and the next call connects afresh (recovery without a restart).
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - the socket is already gone
                    pass
            pool.release(conn)
