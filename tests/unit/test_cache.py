"""The tiered cache with nothing running: Redis unreachable (the cache degrades to L1 and
L3 without an error to the caller), SQLite in a temporary file."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from config import RedisSettings, Settings
from streams import App, ConfigurationError
from streams.cache import Cache
from streams.metrics import Metrics, cache_metrics

Factory = Callable[..., Cache]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def offline(tmp_path: Path, **cache: object) -> Settings:
    """Settings whose Redis refuses connections and whose L3 is a file in ``tmp_path``."""
    base = Settings()
    return base.model_copy(
        update={
            "redis": RedisSettings(url=f"redis://127.0.0.1:{closed_port()}/0"),
            "cache": base.cache.model_copy(
                update={"l3_url": f"sqlite+aiosqlite:///{tmp_path}/cache.sqlite3", **cache}
            ),
        }
    )


@pytest.fixture
async def caches(tmp_path: Path) -> AsyncIterator[Factory]:
    made: list[Cache] = []

    def make(name: str = "c", settings: Settings | None = None, **kwargs: object) -> Cache:
        cache = Cache(name, settings or offline(tmp_path), registry=CollectorRegistry(), **kwargs)  # type: ignore[arg-type]
        made.append(cache)
        return cache

    yield make
    for cache in made:
        await cache.stop()


def sample(cache: Cache, name: str, **labels: str) -> float | None:
    return cache.metrics.registry.get_sample_value(name, {"cache": cache.name, **labels})


async def test_a_cache_must_be_started_and_configured_before(caches: Factory) -> None:
    cache = caches()
    with pytest.raises(ConfigurationError, match="'c' is not started"):
        await cache.get("k")
    await cache.start()
    with pytest.raises(ConfigurationError, match="configure"):
        cache.configure(Settings())
    with pytest.raises(ConfigurationError, match="ttl must be positive"):
        Cache("bad", ttl=0)


async def test_without_redis_values_live_in_l1_and_l3(
    caches: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="streams.cache_redis")
    cache = caches()
    await cache.start()
    assert not cache.degraded
    await cache.set("k", {"v": 1})
    assert cache.degraded
    assert sample(cache, "agentstream_cache_degraded") == 1
    for _ in range(5):
        assert await cache.get("k") == {"v": 1}
    assert await cache.get("absent") is None
    assert sample(cache, "agentstream_cache_requests_total", level="l2", result="error") == 1
    assert sample(cache, "agentstream_cache_requests_total", level="l3", result="miss") == 1

    other = caches()  # another worker: cold L1, the durable store answers
    await other.start()
    assert await other.get("k") == {"v": 1}
    assert sample(other, "agentstream_cache_requests_total", level="l3", result="hit") == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2  # one per cache instance, not one per call
    assert "running on L1 and L3" in warnings[0].getMessage()


async def test_l1_alone_when_redis_is_away_and_l3_is_off(tmp_path: Path, caches: Factory) -> None:
    cache = caches(settings=offline(tmp_path, l3_url=""))
    await cache.start()
    await cache.set("k", [1, 2])
    assert await cache.get("k") == [1, 2]
    assert sample(cache, "agentstream_cache_requests_total", level="l3", result="miss") is None
    no_l1 = caches(settings=offline(tmp_path, l3_url=""), l1_size=0)
    await no_l1.start()
    await no_l1.set("k", 1)
    assert await no_l1.get("k") is None


async def test_concurrent_callers_in_a_process_share_one_computation(caches: Factory) -> None:
    cache = caches()
    await cache.start()
    calls = 0

    async def compute() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return "v"

    got = await asyncio.gather(*(cache.get_or_compute("k", compute) for _ in range(20)))
    assert got == ["v"] * 20
    assert calls == 1
    assert await cache.get_or_compute("k", compute) == "v"
    assert calls == 1


async def test_a_failed_computation_reaches_every_waiter_and_caches_nothing(
    caches: Factory,
) -> None:
    cache = caches()
    await cache.start()

    async def fail() -> str:
        await asyncio.sleep(0.05)
        raise ValueError("boom")

    got = await asyncio.gather(
        *(cache.get_or_compute("k", fail) for _ in range(5)), return_exceptions=True
    )
    assert [type(g) for g in got] == [ValueError] * 5
    assert await cache.get("k") is None


async def test_a_cancelled_computation_is_taken_over_by_a_waiter(caches: Factory) -> None:
    cache = caches()
    await cache.start()
    started = asyncio.Event()

    async def hang() -> str:
        started.set()
        await asyncio.sleep(60)
        return "never"

    async def quick() -> str:
        return "taken over"

    leader = asyncio.create_task(cache.get_or_compute("k", hang))
    await started.wait()
    follower = asyncio.create_task(cache.get_or_compute("k", quick))
    await asyncio.sleep(0)
    leader.cancel()
    assert await follower == "taken over"
    with pytest.raises(asyncio.CancelledError):
        await leader


async def test_caches_on_one_registry_share_its_metrics() -> None:
    metrics = Metrics()
    assert cache_metrics(metrics.registry) is metrics.cache
    Cache("a", registry=metrics.registry)
    Cache("b", registry=metrics.registry)  # no duplicate registration
    assert metrics.cache.registry is metrics.registry


def test_an_app_declares_each_cache_once_with_its_options() -> None:
    app = App("app")
    kb = app.cache("kb", ttl=60, l1_size=5, l1_ttl=2)
    assert app.caches == {"kb": kb}
    assert kb.ttl == 60
    assert kb.metrics is app.metrics.cache
    with pytest.raises(ConfigurationError, match="declared twice"):
        app.cache("kb")
    other = Settings(cache={"ttl": 99})  # type: ignore[arg-type]
    app.configure(other)
    assert app.cache("models").settings is other
    assert kb.settings is other
