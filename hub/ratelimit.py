"""Per-caller rate limits at the hub: one token bucket per login (else per client address).

In memory, per hub process; it bounds what one caller can make the hub send to sites. It must not
decide identity (auth.py does) and never blocks: a caller over the limit is told when to retry.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """`per_minute` requests a minute, in bursts of up to `per_minute`; 0 turns limiting off."""

    MAX_KEYS = 100_000  # past this, full (idle) buckets are forgotten

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute < 0:
            raise ValueError("the rate limit must be zero (off) or more")
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Spend one request for `key`: 0.0 when allowed, else seconds until one is."""
        if self.capacity <= 0:
            return 0.0
        now = self.clock()
        tokens, at = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > self.MAX_KEYS:
            self._prune(now)
        return 0.0

    def _prune(self, now: float) -> None:
        full = [k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.capacity]
        for k in full:
            del self._buckets[k]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
