"""Per-client token buckets: a client may send ``burst`` requests at once, then ``rate``
a second. Buckets live in this process (each gateway replica limits on its own), in an
LRU bounded by ``max_clients`` so that a flood of new addresses cannot grow memory."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from cachetools import LRUCache


@dataclass(slots=True)
class TokenBucket:
    """``tokens`` left at ``stamp`` (a monotonic time), refilled lazily."""

    rate: float
    burst: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill up to ``now``; the seconds until a token is there (0 if one is)."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = max(self.stamp, now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> float:
        """Spend one token and return 0, or spend nothing and return the wait."""
        wait = self.wait(now)
        if wait == 0:
            self.tokens -= 1
        return wait


class RateLimiter:
    """One :class:`TokenBucket` per client key, all with the same rate and burst."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_clients: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate must be > 0 and burst >= 1 (got {rate}, {burst})")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: LRUCache[str, TokenBucket] = LRUCache(maxsize=max_clients)

    def take(self, *keys: str) -> float:
        """Spend one token of every key's bucket and return 0 if each has one; otherwise
        spend none and return the seconds until all have one. Several keys (the address
        and the customer id) stop a client that varies one of them."""
        now = self._clock()
        buckets = [self._bucket(k, now) for k in dict.fromkeys(keys)]
        wait = max((b.wait(now) for b in buckets), default=0.0)
        if wait == 0:
            for bucket in buckets:
                bucket.take(now)
        return wait

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self.burst, now)
        return bucket


def retry_after(wait: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
