"""SharedState in Redis (redis-py's asyncio client), for N hubs behind one load balancer.

Never fails a request because Redis is away: any Redis error logs a warning (at most every 30 s) and
answers from this process's own state (`local`) for a few seconds before trying Redis again.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from mx_hub.shared import MemoryState

log = logging.getLogger("mxhub.hub")

# A token bucket, as ratelimit.RateLimiter keeps it, on Redis's own clock (hubs' clocks may differ).
# Returned as a string: Redis turns a Lua number into an integer, and the wait has fractions.
_TAKE = """
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(b[1]) or cap
local at = tonumber(b[2]) or now
tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens < 1 then wait = (1 - tokens) / rate else tokens = tokens - 1 end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return tostring(wait)
"""
# Delete a lock only if it is still ours (it may have expired and been taken by another process).
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
ANSWER_TTL_MS = 5_000  # a finished call's answer is kept this long for the processes waiting on it
POLL = 0.01  # s between looks for an answer (the wait is bounded by the call's own timeout)
TIMEOUT = 0.5  # s for any one Redis command: a slow Redis must not become a slow hub
RETRY_AFTER = 5.0  # s of local answers after a Redis failure, before Redis is tried again


class RedisState:
    def __init__(self, url: str, namespace: str, per_minute: int, local: MemoryState) -> None:
        self.url = url
        self.ns = namespace
        self.capacity = float(per_minute)
        self.local = local
        self._redis: aioredis.Redis | None = None
        self._down_until = 0.0
        self._warned_at = -1e9
        self.waiting = 0  # calls now waiting for another process's answer (tests watch it)

    async def start(self) -> None:
        self._redis = aioredis.Redis.from_url(
            self.url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, decode_responses=False
        )
        try:
            await self._redis.ping()
            log.info("hub state shared in Redis at %s (keys %s:*)", self._safe_url(), self.ns)
        except (RedisError, OSError) as exc:
            self._degrade(exc)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    def _safe_url(self) -> str:
        return self.url.split("@")[-1]

    def _client(self) -> aioredis.Redis | None:
        """The Redis client, or None while Redis is considered away (answer locally)."""
        if self._redis is None or time.monotonic() < self._down_until:
            return None
        return self._redis

    def _degrade(self, exc: BaseException) -> None:
        now = time.monotonic()
        self._down_until = now + RETRY_AFTER
        if now - self._warned_at > 30:
            self._warned_at = now
            log.warning(
                "Redis at %s unavailable (%s: %s): this hub answers from its own state (rate limits, "
                "in-flight calls, health) until it is back",
                self._safe_url(),
                type(exc).__name__,
                exc,
            )

    async def take(self, key: str) -> float:
        client = self._client()
        if client is None or self.capacity <= 0:
            return await self.local.take(key)
        try:
            wait = await client.eval(_TAKE, 1, f"{self.ns}:rate:{key}", self.capacity, self.capacity / 60.0)
        except (RedisError, OSError) as exc:
            self._degrade(exc)
            return await self.local.take(key)
        return float(wait)

    async def single_flight(self, key: str, wait: float, run: Callable[[], Awaitable[bytes]]) -> bytes:
        client = self._client()
        if client is None:
            return await run()
        lock = f"{self.ns}:flight:{key}"
        token = uuid.uuid4().hex
        try:
            leading = await client.set(lock, token, nx=True, px=int(wait * 1000) + 1000)
            leader = None if leading else await client.get(lock)
        except (RedisError, OSError) as exc:
            self._degrade(exc)
            return await run()
        if leading:
            return await self._lead(client, lock, token, run)
        if leader is None:  # the other call ended between our two commands: this one is new
            return await run()
        answer = await self._await_answer(client, _text(leader), wait)
        return answer if answer is not None else await run()

    async def _lead(
        self, client: aioredis.Redis, lock: str, token: str, run: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        try:
            result = await run()
        except BaseException:
            await self._release(client, lock, token)
            raise
        try:
            await client.set(f"{self.ns}:answer:{token}", result, px=ANSWER_TTL_MS)
        except (RedisError, OSError) as exc:
            self._degrade(exc)
        await self._release(client, lock, token)
        return result

    async def _release(self, client: aioredis.Redis, lock: str, token: str) -> None:
        try:
            await client.eval(_RELEASE, 1, lock, token)
        except (RedisError, OSError) as exc:
            self._degrade(exc)

    async def _await_answer(self, client: aioredis.Redis, leader: str, wait: float) -> bytes | None:
        """The leader's answer, or None if it gives none within `wait` s (it died, or Redis went away)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + wait
        self.waiting += 1
        try:
            while loop.time() < end:
                try:
                    found = await client.get(f"{self.ns}:answer:{leader}")
                except (RedisError, OSError) as exc:
                    self._degrade(exc)
                    return None
                if found is not None:
                    return found.encode() if isinstance(found, str) else found
                await asyncio.sleep(POLL)
            return None
        finally:
            self.waiting -= 1

    async def claim(self, what: str, seconds: float) -> bool:
        client = self._client()
        if client is None:
            return True
        try:
            return bool(
                await client.set(f"{self.ns}:claim:{what}", "1", nx=True, px=max(1, int(seconds * 1000)))
            )
        except (RedisError, OSError) as exc:
            self._degrade(exc)
            return True

    async def registry_version(self) -> str | None:
        client = self._client()
        if client is None:
            return None
        try:
            found = await client.get(f"{self.ns}:registry")
        except (RedisError, OSError) as exc:
            self._degrade(exc)
            return None
        return _text(found) if found is not None else "0"

    async def registry_changed(self) -> None:
        client = self._client()
        if client is None:
            return
        try:
            await client.incr(f"{self.ns}:registry")
        except (RedisError, OSError) as exc:
            self._degrade(exc)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
