"""The cache's L2 (Redis) and its cross-process locks, with degradation.

A cache must never fail its caller because Redis is away: a Redis error marks L2
unavailable (gauge ``agentstream_cache_degraded`` = 1, one WARNING), calls skip it and
the cache runs on L1 and L3; a call at most every ``PROBE_EVERY`` seconds tries Redis
again, and the first that succeeds ends the degradation (gauge 0, one INFO). Keys written
meanwhile went to L1 and L3 only, so their L2 copies, older, are deleted before L2 is used
again: nothing written during the outage is shadowed by a stale value afterwards.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from config import Settings
from streams.metrics import CacheMetrics
from streams.redis_connect import redis_client

log = logging.getLogger(__name__)
T = TypeVar("T")

PROBE_EVERY = 1.0  # seconds between attempts to reach Redis again while it is away
DIRTY_LIMIT = 100_000  # keys remembered for invalidation; past it every L2 key is dropped
UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
#: What a Redis that is away, overloaded or misconfigured raises.
REDIS_ERRORS = (redis.exceptions.RedisError, OSError)


class Unavailable(Exception):
    """L2 cannot answer now (Redis is away); the cache goes on without it."""


class RedisTier:
    """L2 of one cache: values under ``agentstream:cache:<name>:<key>``, locks under
    ``agentstream:cache-lock:<name>:<key>``."""

    def __init__(self, cache: str, settings: Settings, metrics: CacheMetrics) -> None:
        self.cache = cache
        self.settings = settings
        self.prefix = f"agentstream:cache:{cache}:"
        self.lock_prefix = f"agentstream:cache-lock:{cache}:"
        self._requests = {r: metrics.requests.labels(cache, "l2", r) for r in RESULTS}
        self._lookup = metrics.lookup.labels(cache, "l2")
        self._degraded = metrics.degraded.labels(cache)
        self._degraded.set(0)
        self._client: aioredis.Redis | None = None
        self._owns_client = True
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._dirty: set[str] = set()
        self._dirty_overflow = False

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def start(self, client: aioredis.Redis | None = None) -> None:
        """Create the client (it connects on first use), unless ``client`` is given (its
        owner closes it). One retry and no backoff: a cache lookup that waits on Redis is
        worth less than one that goes without it."""
        self._owns_client = client is None
        if client is not None:
            self._client = client
            return
        timeout = self.settings.cache.l2_timeout
        self._client = redis_client(
            self.settings.redis,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 1),
        )

    async def stop(self) -> None:
        if self._client is not None and self._owns_client:
            await self._client.aclose()
        self._client = None

    # -- values -------------------------------------------------------------------------
    async def get(self, key: str) -> bytes | None:
        """The value, or None on a miss or while Redis is away (counted as an error)."""
        started = time.perf_counter()
        try:
            raw = await self.peek(key)
        except Unavailable:
            self._requests["error"].inc()
            return None
        self._lookup.observe(time.perf_counter() - started)
        self._requests["miss" if raw is None else "hit"].inc()
        return raw

    async def peek(self, key: str) -> bytes | None:
        """The value, not counted as a lookup (waiting for another worker's result).
        Raises :class:`Unavailable`."""
        raw = await self._call(lambda c: c.get(self.prefix + key))
        return cast("bytes | None", raw)  # bytes: the client does not decode responses

    async def set(self, key: str, raw: bytes, ttl: float) -> None:
        try:
            await self._call(lambda c: c.set(self.prefix + key, raw, px=max(1, int(ttl * 1000))))
        except Unavailable:
            self._forget_later(key)

    async def delete(self, key: str) -> None:
        try:
            await self._call(lambda c: c.delete(self.prefix + key))
        except Unavailable:
            self._forget_later(key)

    # -- locks --------------------------------------------------------------------------
    async def lock(self, key: str, hold: float) -> str | None:
        """Take the key's lock for ``hold`` seconds: a token, or None when another
        worker holds it. Raises :class:`Unavailable`."""
        token = secrets.token_hex(8)
        ms = max(1, int(hold * 1000))
        taken = await self._call(lambda c: c.set(self.lock_prefix + key, token, nx=True, px=ms))
        return token if taken else None

    async def unlock(self, key: str, token: str) -> None:
        """Release the lock if it is still ours (it may have expired and been taken)."""
        with contextlib.suppress(Unavailable):  # else it expires by itself
            await self._call(lambda c: c.eval(UNLOCK, 1, self.lock_prefix + key, token))

    # -- availability -------------------------------------------------------------------
    async def _call(self, op: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        client = self._client
        if client is None:
            raise Unavailable("not started")
        if self._down_since is not None:
            now = time.monotonic()
            if now < self._next_probe:
                raise Unavailable("redis is away")
            self._next_probe = now + PROBE_EVERY  # one probe at a time
            await self._recover(client)
        try:
            return await op(client)
        except REDIS_ERRORS as e:
            self._went_down(e)
            raise Unavailable(str(e)) from e

    def _went_down(self, error: BaseException) -> None:
        now = time.monotonic()
        self._next_probe = now + PROBE_EVERY
        if self._down_since is None:
            self._down_since = now
            self._degraded.set(1)
            log.warning(
                "cache %s: Redis unavailable, running on L1 and L3 until it answers: %s",
                self.cache, error,
            )  # fmt: skip

    async def _recover(self, client: aioredis.Redis) -> None:
        """Redis may be back: drop the L2 copies of keys written without it, then use it."""
        try:
            if self._dirty_overflow:
                await self._drop_all(client)
            elif self._dirty:
                dirty = [self.prefix + k for k in self._dirty]
                for i in range(0, len(dirty), 1000):
                    await client.delete(*dirty[i : i + 1000])
            else:
                await client.ping()
        except REDIS_ERRORS as e:
            self._went_down(e)
            raise Unavailable(str(e)) from e
        assert self._down_since is not None  # noqa: S101 - only called while degraded
        log.info(
            "cache %s: Redis back after %.1fs, L2 in use again",
            self.cache, time.monotonic() - self._down_since,
        )  # fmt: skip
        self._down_since = None
        self._dirty.clear()
        self._dirty_overflow = False
        self._degraded.set(0)

    async def _drop_all(self, client: aioredis.Redis) -> None:
        batch: list[Any] = []
        async for name in client.scan_iter(match=self.prefix + "*", count=1000):
            batch.append(name)
            if len(batch) >= 1000:
                await client.delete(*batch)
                batch.clear()
        if batch:
            await client.delete(*batch)

    def _forget_later(self, key: str) -> None:
        if len(self._dirty) < DIRTY_LIMIT:
            self._dirty.add(key)
        else:
            self._dirty_overflow = True


RESULTS = ("hit", "miss", "error")
