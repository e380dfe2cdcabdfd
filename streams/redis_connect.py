"""The Redis client of every part that needs one (claims, keyed state, the cache's L2,
the gateway), built from settings in one place. It connects on first use."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from config import RedisSettings


def redis_client(settings: RedisSettings, **options: Any) -> aioredis.Redis:
    """A client for ``settings.url`` with its password; ``options`` go to redis-py
    (timeouts, retry)."""
    password = None if settings.password is None else settings.password.get_secret_value()
    return aioredis.Redis.from_url(settings.url, password=password, **options)
