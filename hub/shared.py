"""What hub processes on one registry share: rate-limit buckets, calls to sites in flight, the right to run
a health round, and the registry's version (so a site registered through one hub is served by all).

One seam, SharedState: in memory (one process, as a hub always worked) or in Redis (shared_redis.py), chosen
once from the settings by `shared_state`. It holds counters and locks only; what they mean is the caller's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol
from urllib.parse import urlsplit

from mx_hub.ratelimit import RateLimiter


class SharedState(Protocol):
    """What every hub process on one registry must agree on."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def take(self, key: str) -> float:
        """Spend one request of `key`'s rate limit: 0.0 when allowed, else seconds until one is."""
        ...

    async def single_flight(self, key: str, wait: float, run: Callable[[], Awaitable[bytes]]) -> bytes:
        """`run()`'s result, computed once for every process asking for `key` at the same time; a process
        that finds the call in flight elsewhere waits up to `wait` s for its result, then runs it itself."""
        ...

    async def claim(self, what: str, seconds: float) -> bool:
        """Whether this process should do `what` now: at most one process in `seconds` is told yes."""
        ...

    async def registry_version(self) -> str | None:
        """A token that changes whenever any hub changes the registry (None: nothing shared)."""
        ...

    async def registry_changed(self) -> None:
        """Tell the other hubs that this one changed the registry."""
        ...


class MemoryState:
    """One process: the rate limit in memory, every call and health round its own."""

    def __init__(self, per_minute: int) -> None:
        self.limiter = RateLimiter(per_minute)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def take(self, key: str) -> float:
        return self.limiter.take(key)

    async def single_flight(self, key: str, wait: float, run: Callable[[], Awaitable[bytes]]) -> bytes:
        return await run()  # the site client already shares identical calls within this process

    async def claim(self, what: str, seconds: float) -> bool:
        return True

    async def registry_version(self) -> str | None:
        return None

    async def registry_changed(self) -> None:
        return None


def namespace(registry_dsn: str) -> str:
    """Redis keys of the hubs on one registry: named by its database, so that hubs on other registries
    sharing a Redis (tests, a staging hub) never share limits or answers with these."""
    try:
        database = urlsplit(registry_dsn).path.lstrip("/") or "default"
    except ValueError:
        database = "default"
    return f"mxhub:{database}"


def shared_state(redis_url: str | None, registry_dsn: str, per_minute: int) -> SharedState:
    """In Redis when a URL is given, else in memory; the choice is made once, when the hub is built."""
    local = MemoryState(per_minute)
    if not redis_url:
        return local
    from mx_hub.shared_redis import RedisState  # redis is imported only by hubs that use it

    return RedisState(redis_url, namespace(registry_dsn), per_minute, local)
