"""The tiered cache against the real Redis and a real SQLite file: a hit at each level,
one computation per key across two workers, and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry

from config import RedisSettings, Settings
from streams import App, ConfigurationError, Context
from streams.cache import Cache
from streams.cache_redis import PROBE_EVERY
from tests.integration.helpers import collect, event, produce
from tests.integration.processes import PrivateRedis
from tests.integration.test_agent_roundtrip import Ping, Pong

Factory = Callable[..., Cache]


def with_cache(
    settings: Settings, tmp_path: Path, redis_url: str | None = None, **cache: object
) -> Settings:
    """``settings`` with L3 in a SQLite file of this test (and another Redis if given)."""
    update: dict[str, object] = {
        "cache": settings.cache.model_copy(
            update={"l3_url": f"sqlite+aiosqlite:///{tmp_path}/l3/cache.sqlite3", **cache}
        )
    }
    if redis_url is not None:
        update["redis"] = RedisSettings(url=redis_url)
    return settings.model_copy(update=update)


@pytest.fixture
async def caches(settings: Settings, tmp_path: Path) -> AsyncIterator[Factory]:
    """Started caches of one name (several "workers"), stopped after the test."""
    name = f"c{uuid.uuid4().hex[:8]}"
    started: list[Cache] = []

    def make(**kwargs: object) -> Cache:
        s = kwargs.pop("settings", None) or with_cache(settings, tmp_path)
        cache = Cache(name, s, registry=CollectorRegistry(), **kwargs)  # type: ignore[arg-type]
        started.append(cache)
        return cache

    yield make
    for cache in started:
        await cache.stop()


def requests(cache: Cache, level: str, result: str) -> float:
    labels = {"cache": cache.name, "level": level, "result": result}
    return cache.metrics.registry.get_sample_value("agentstream_cache_requests_total", labels) or 0


def degraded(cache: Cache) -> float | None:
    labels = {"cache": cache.name}
    return cache.metrics.registry.get_sample_value("agentstream_cache_degraded", labels)


async def test_each_level_answers_and_fills_the_levels_above(
    settings: Settings, caches: Factory
) -> None:
    first, second = caches(), caches()
    await first.start()
    await second.start()
    await first.set("k", {"answer": [1, 2], "text": "héllo"})

    assert await first.get("k") == {"answer": [1, 2], "text": "héllo"}
    assert requests(first, "l1", "hit") == 1

    # Another worker: cold L1, the value comes from Redis, then from its own L1.
    assert await second.get("k") == {"answer": [1, 2], "text": "héllo"}
    assert (requests(second, "l1", "miss"), requests(second, "l2", "hit")) == (1, 1)
    assert await second.get("k") is not None
    assert requests(second, "l1", "hit") == 1

    # Redis loses the cache's keys: the durable store answers and refills Redis.
    client = aioredis.Redis.from_url(settings.redis.url)
    try:
        keys = [k async for k in client.scan_iter(match=f"agentstream:cache:{first.name}:*")]
        assert keys == [f"agentstream:cache:{first.name}:k".encode()]
        await client.delete(*keys)
        third = caches()
        await third.start()
        assert await third.get("k") == {"answer": [1, 2], "text": "héllo"}
        assert (requests(third, "l2", "miss"), requests(third, "l3", "hit")) == (1, 1)
        assert await client.exists(keys[0]) == 1
        ttl = await client.pttl(keys[0])
        assert 0 < ttl <= third.ttl * 1000
    finally:
        await client.aclose()

    assert await third.get("absent") is None
    assert requests(third, "l3", "miss") == 1
    lookups = third.metrics.lookup.labels(third.name, "l3")
    assert sum(lookups.counts) == 2


async def test_l1_entries_expire_into_l2(caches: Factory) -> None:
    cache = caches(l1_ttl=0.2)
    await cache.start()
    await cache.set("k", "v")
    await asyncio.sleep(0.3)
    assert await cache.get("k") == "v"
    assert (requests(cache, "l1", "miss"), requests(cache, "l2", "hit")) == (1, 1)


async def test_a_value_reads_back_the_same_from_every_level(caches: Factory) -> None:
    writer, reader = caches(), caches()
    await writer.start()
    await reader.start()
    value = {"t": (1, 2), "n": None, "f": 0.5}
    await writer.set("k", value)
    got = await writer.get("k")
    assert got == await reader.get("k") == {"t": [1, 2], "n": None, "f": 0.5}
    got["t"].append(3)  # mutating what a caller got changes nothing cached
    assert await writer.get("k") == {"t": [1, 2], "n": None, "f": 0.5}


async def test_a_cold_key_is_computed_once_by_two_workers_of_twenty_callers(
    caches: Factory,
) -> None:
    workers = [caches(), caches()]
    for cache in workers:
        await cache.start()
    calls = 0

    async def compute() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.3)
        return {"value": 42}

    results = await asyncio.gather(
        *(cache.get_or_compute("cold", compute) for cache in workers for _ in range(20))
    )
    assert calls == 1
    assert results == [{"value": 42}] * 40
    late = caches()
    await late.start()
    assert await late.get_or_compute("cold", compute) == {"value": 42}
    assert calls == 1


async def test_a_failed_computation_reaches_its_callers_and_frees_the_key(
    caches: Factory,
) -> None:
    failing, other = caches(), caches()
    await failing.start()
    await other.start()
    started = asyncio.Event()

    async def fail() -> int:
        started.set()
        await asyncio.sleep(0.2)
        raise ValueError("model down")

    async def succeed() -> int:
        return 7

    async def later() -> int:
        await started.wait()  # the failing worker holds the lock by now
        return await other.get_or_compute("k", succeed)

    outcomes = await asyncio.gather(
        failing.get_or_compute("k", fail),
        failing.get_or_compute("k", fail),
        later(),
        return_exceptions=True,
    )
    assert [type(o) for o in outcomes[:2]] == [ValueError, ValueError]
    assert outcomes[2] == 7
    assert await failing.get("k") == 7


async def test_a_waiter_computes_itself_when_the_holder_outlasts_the_lock_timeout(
    settings: Settings, tmp_path: Path, caches: Factory
) -> None:
    s = with_cache(settings, tmp_path, lock_timeout=0.3)
    slow, impatient = caches(settings=s), caches(settings=s)
    await slow.start()
    await impatient.start()
    holding = asyncio.Event()
    computed: list[str] = []

    async def slowly() -> str:
        holding.set()
        await asyncio.sleep(1.5)
        computed.append("slow")
        return "slow"

    async def quickly() -> str:
        computed.append("quick")
        return "quick"

    async def after_lock() -> str:
        await holding.wait()
        return str(await impatient.get_or_compute("k", quickly))

    got = await asyncio.gather(slow.get_or_compute("k", slowly), after_lock())
    assert got == ["slow", "quick"]
    assert sorted(computed) == ["quick", "slow"]


async def test_without_redis_the_cache_runs_on_l1_and_l3_and_recovers(
    settings: Settings, tmp_path: Path, caches: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streams.cache_redis")
    redis = PrivateRedis(tmp_path / "redis")
    await redis.start()
    s = with_cache(settings, tmp_path, redis_url=redis.url)
    try:
        cache = caches(settings=s)
        await cache.start()
        await cache.set("stale", "before the outage")
        assert degraded(cache) == 0

        redis.stop()
        await cache.set("stale", "during the outage")
        assert degraded(cache) == 1
        await cache.set("k", "v")
        assert await cache.get("k") == "v"
        assert await cache.get_or_compute("computed", _value("c")) == "c"
        assert requests(cache, "l2", "error") >= 1

        cold = caches(settings=s)  # a worker started during the outage: L3 answers
        await cold.start()
        assert await cold.get("k") == "v"
        assert await cold.get("stale") == "during the outage"
        assert await cold.get_or_compute("computed", _value("again")) == "c"
        assert degraded(cold) == 1

        await redis.start()
        await asyncio.sleep(PROBE_EVERY + 0.1)
        assert await cache.get("absent") is None  # an L1 miss: the next call to Redis
        assert degraded(cache) == 0
        # The copy Redis kept from before the outage was dropped, not served.
        fresh = caches(settings=s)
        await fresh.start()
        assert await fresh.get("stale") == "during the outage"
        assert requests(fresh, "l3", "hit") == 1
    finally:
        if redis.proc is not None:
            redis.stop()

    warnings = [r for r in caplog.records if r.name == "streams.cache_redis"]
    mine = [r for r in warnings if cache.name in r.getMessage() and r.levelno == logging.WARNING]
    back = [r for r in warnings if "back after" in r.getMessage() and r.levelno == logging.INFO]
    assert len(mine) == 2  # once per worker that saw the outage, not once per call
    assert len(back) == 1


async def test_an_app_cache_starts_with_the_app_and_reports_on_its_metrics(
    settings: Settings, tmp_path: Path, topic: str
) -> None:
    app = App(f"app-{topic}", with_cache(settings, tmp_path))
    squares = app.cache(f"squares-{topic}", ttl=60)

    @app.agent(topic)
    async def square(msg: Ping, ctx: Context) -> Pong:
        n = await squares.get_or_compute(str(msg.n), _value(msg.n * msg.n))
        return Pong(n=n, text=msg.text)

    with pytest.raises(ConfigurationError, match="not started"):
        await squares.get("1")
    pings = [Ping(n=i % 3, text="x") for i in range(6)]
    async with app.running():
        # Same n, same key: the second lookup of each runs after the first stored it.
        await produce(settings, topic, [(str(p.n).encode(), *event(p)) for p in pings])
        replies = await collect(settings, f"{topic}.replies", 6)
    assert sorted(Pong.model_validate_json(r.value).n for r in replies) == [0, 0, 1, 1, 4, 4]
    sample = app.metrics.registry.get_sample_value
    l1 = {"cache": squares.name, "level": "l1"}
    assert sample("agentstream_cache_requests_total", {**l1, "result": "miss"}) == 3
    assert sample("agentstream_cache_requests_total", {**l1, "result": "hit"}) == 3
    assert sample("agentstream_cache_lookup_seconds_count", l1) == 6
    assert sample("agentstream_cache_degraded", {"cache": squares.name}) == 0


def _value(value: object) -> Callable[[], Awaitable[object]]:
    async def compute() -> object:
        return value

    return compute
