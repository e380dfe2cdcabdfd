"""A tiered cache: L1 in process, L2 Redis, L3 a durable SQL store, then compute.

::

    classify = app.cache("classify", ttl=3600)          # declared at import time

    async def route(msg: Inquiry, ctx: Context) -> Routed:
        label = await classify.get_or_compute(msg.text, lambda: model.classify(msg.text))

Lookups fall through L1 -> L2 -> L3 and fill the levels above on a hit below. Values are
JSON (orjson); every level holds the encoded bytes, so a value reads back the same from
any level (tuples come back as lists) and a caller mutating what it got changes nothing
cached. ``get_or_compute`` runs one computation per key at a time across every process
sharing the Redis: callers in a process share one future, and across processes the
first to take the key's lock computes while the others wait for its result to appear in
L2 (up to ``settings.cache.lock_timeout``, after which they compute themselves). While
Redis is away the cache runs on L1 and L3 (see :mod:`streams.cache_redis`) and callers
see no error. See docs/caching.md.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis
from cachetools import TTLCache
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy.exc import SQLAlchemyError

from config import Settings
from streams.cache_redis import RESULTS, RedisTier, Unavailable
from streams.errors import ConfigurationError
from streams.metrics import HistogramChild, cache_metrics
from streams.store import Store

log = logging.getLogger(__name__)
WAIT_FIRST, WAIT_MAX = 0.01, 0.25  # polling for another worker's result, with backoff
L3_LOG_EVERY = 10.0  # seconds between warnings while the L3 store fails
L3_ERRORS = (SQLAlchemyError, OSError)


class Cache:
    """One named cache. Standalone: ``Cache(name, settings)``, ``await cache.start()``,
    ``await cache.stop()``; in an app, ``app.cache(name)`` (started and stopped with it).
    ``ttl`` (L2 and L3), ``l1_size`` and ``l1_ttl`` default to ``settings.cache``."""

    def __init__(
        self,
        name: str,
        settings: Settings | None = None,
        *,
        registry: CollectorRegistry | None = None,
        ttl: float | None = None,
        l1_size: int | None = None,
        l1_ttl: float | None = None,
    ) -> None:
        for what, value in (("ttl", ttl), ("l1_ttl", l1_ttl)):
            if value is not None and value <= 0:
                raise ConfigurationError(f"cache {name!r}: {what} must be positive")
        self.name = name
        self.settings = settings or Settings()
        self._ttl, self._l1_size, self._l1_ttl = ttl, l1_size, l1_ttl
        self.metrics = cache_metrics(registry or CollectorRegistry())
        self._requests: dict[tuple[str, str], Counter] = {}
        self._lookups: dict[str, HistogramChild] = {}
        self._l1: TTLCache[str, bytes] | None = None
        self._l2: RedisTier | None = None
        self._l3: Store | None = None
        self._inflight: dict[str, asyncio.Future[bytes]] = {}
        self._l3_warned = -L3_LOG_EVERY

    @property
    def ttl(self) -> float:
        return self._ttl or self.settings.cache.ttl

    @property
    def degraded(self) -> bool:
        """True while Redis is away and the cache runs on L1 and L3."""
        return self._l2 is not None and self._l2.degraded

    def configure(self, settings: Settings) -> None:
        """Point the cache at other settings before it starts (its app's, at start)."""
        if self._l2 is not None:
            raise ConfigurationError(f"cache {self.name!r}: configure() after start()")
        self.settings = settings

    async def start(self, redis: aioredis.Redis | None = None) -> None:
        """Open the levels. L2 uses ``redis`` when given (its app's transport), else a
        client of its own to ``settings.redis``."""
        c = self.settings.cache
        size = c.l1_size if self._l1_size is None else self._l1_size
        if size > 0:
            self._l1 = TTLCache(maxsize=size, ttl=min(self._l1_ttl or c.l1_ttl, self.ttl))
            self._count_level("l1")
        if c.l3_url:
            store = Store(c.l3_url, self.name)
            await store.start()
            self._l3 = store
            self._count_level("l3")
        self._l2 = RedisTier(self.name, self.settings, self.metrics)
        self._l2.start(redis)

    async def stop(self) -> None:
        if self._l2 is not None:
            await self._l2.stop()
            self._l2 = None
        if self._l3 is not None:
            await self._l3.stop()
            self._l3 = None
        self._l1 = None

    # -- the API ------------------------------------------------------------------------
    async def get(self, key: str) -> Any | None:
        """The cached value, or None when no level holds it."""
        raw = await self._lookup(key)
        return None if raw is None else orjson.loads(raw)

    async def set(self, key: str, value: Any) -> None:
        """Store a JSON-able value in every level (L3 included before it returns)."""
        await self._store(key, orjson.dumps(value), behind=False)

    async def delete(self, key: str) -> None:
        """Remove the key from every level (of this process's L1 only: other workers'
        L1 copies live out their ``l1_ttl``)."""
        self._started()
        if self._l1 is not None:
            self._l1.pop(key, None)
        await self._tier().delete(key)
        if self._l3 is not None:
            try:
                await self._l3.delete(key)
            except L3_ERRORS as e:
                self._l3_failed(e)

    async def get_or_compute(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The cached value, else ``await compute()``, stored in every level. One
        computation per key at a time, across processes; an exception from ``compute``
        reaches every caller waiting for it and nothing is cached."""
        raw = await self._lookup(key)
        while raw is None:
            pending = self._inflight.get(key)
            if pending is None:
                # A caller of this process may have computed it between our lookup and
                # now (its future is gone, its value in L1): no second computation.
                raw = None if self._l1 is None else self._l1.get(key)
                if raw is None:
                    raw = await self._lead(key, compute)
                break
            try:
                raw = await asyncio.shield(pending)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if not pending.cancelled() or (task is not None and task.cancelling()):
                    raise
                # The caller computing it was cancelled, not us: take over.
        return orjson.loads(raw)

    # -- levels -------------------------------------------------------------------------
    async def _lookup(self, key: str) -> bytes | None:
        self._started()
        l1 = self._l1
        if l1 is not None:
            started = time.perf_counter()
            raw = l1.get(key)
            self._lookups["l1"].observe(time.perf_counter() - started)
            if raw is not None:
                self._requests["l1", "hit"].inc()
                return raw
            self._requests["l1", "miss"].inc()
        raw = await self._tier().get(key)
        if raw is not None:
            self._fill_l1(key, raw)
            return raw
        found = await self._l3_get(key)
        if found is None:
            return None
        raw, expires_at = found
        await self._tier().set(key, raw, expires_at - time.time())
        self._fill_l1(key, raw)
        return raw

    async def _l3_get(self, key: str) -> tuple[bytes, float] | None:
        if self._l3 is None:
            return None
        started = time.perf_counter()
        try:
            found = await self._l3.get(key)
        except L3_ERRORS as e:
            self._requests["l3", "error"].inc()
            self._l3_failed(e)
            return None
        self._lookups["l3"].observe(time.perf_counter() - started)
        self._requests["l3", "miss" if found is None else "hit"].inc()
        return found

    async def _store(self, key: str, raw: bytes, *, behind: bool) -> None:
        """Every level; with ``behind``, L3 is written with its next flush unless Redis is
        away (L3 is then what other workers share, so it is written at once)."""
        self._started()
        self._fill_l1(key, raw)
        await self._tier().set(key, raw, self.ttl)
        if self._l3 is not None:
            try:
                await self._l3.put(key, raw, self.ttl, behind=behind and not self.degraded)
            except L3_ERRORS as e:
                self._l3_failed(e)

    def _fill_l1(self, key: str, raw: bytes) -> None:
        if self._l1 is not None:
            self._l1[key] = raw

    # -- one computation per key --------------------------------------------------------
    async def _lead(self, key: str, compute: Callable[[], Awaitable[Any]]) -> bytes:
        """Compute for every caller of this process, publishing through a future."""
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            raw = await self._compute_shared(key, compute)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as e:
            future.set_exception(e)
            future.exception()  # retrieved: no "never retrieved" log when none waited
            raise
        else:
            future.set_result(raw)
            return raw
        finally:
            del self._inflight[key]

    async def _compute_shared(self, key: str, compute: Callable[[], Awaitable[Any]]) -> bytes:
        """Take the key's Redis lock and compute, or wait for the worker holding it to
        put the value in L2; compute here if it never does (or Redis is away)."""
        tier = self._tier()
        deadline = time.monotonic() + self.settings.cache.lock_timeout
        delay = WAIT_FIRST
        try:
            while True:
                token = await tier.lock(key, self.settings.cache.lock_timeout)
                if token is not None:
                    try:
                        # The holder before us may have finished between our lookup and
                        # our lock: its value is in L2 then.
                        raw = await tier.peek(key)
                        return raw if raw is not None else await self._compute(key, compute)
                    finally:
                        await tier.unlock(key, token)
                raw = await tier.peek(key)
                if raw is not None:
                    self._fill_l1(key, raw)
                    return raw
                if time.monotonic() >= deadline:
                    log.warning(
                        "cache %s: no value for %r after waiting %.0fs for the worker "
                        "computing it; computing it here",
                        self.name, key, self.settings.cache.lock_timeout,
                    )  # fmt: skip
                    break
                await asyncio.sleep(delay)
                delay = min(WAIT_MAX, delay * 2)
        except Unavailable:
            pass  # Redis is away: one computation per key within this process only
        return await self._compute(key, compute)

    async def _compute(self, key: str, compute: Callable[[], Awaitable[Any]]) -> bytes:
        raw = orjson.dumps(await compute())
        await self._store(key, raw, behind=True)  # computed: other workers have it in L2
        return raw

    # -- helpers ------------------------------------------------------------------------
    def _count_level(self, level: str) -> None:
        """Metric children of a level in use (a level turned off shows no samples)."""
        for result in RESULTS:
            self._requests[level, result] = self.metrics.requests.labels(self.name, level, result)
        self._lookups[level] = self.metrics.lookup.labels(self.name, level)

    def _started(self) -> None:
        if self._l2 is None:
            raise ConfigurationError(f"cache {self.name!r} is not started")

    def _tier(self) -> RedisTier:
        assert self._l2 is not None  # noqa: S101 - checked by _started on every entry
        return self._l2

    def _l3_failed(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._l3_warned >= L3_LOG_EVERY:
            self._l3_warned = now
            log.warning("cache %s: the L3 store failed, going on without it: %r", self.name, error)
