"""Keyed state in Redis (``ctx.state``): conversation memory, fan-in, counters.

Values are JSON (orjson) under ``agentstream:state:<app id>:<key>``, one namespace per
app, shared by every agent and worker of it. Each write is one Redis command or one
``MULTI`` transaction, awaited inside the handler, so it is in Redis before the event's
offset is committed. Delivery is at least once: a redelivered event writes the same values
again, so writes should be idempotent (``put``, ``put_field``) or tolerate a repeat
(``append`` adds the item a second time).

Like idempotency claims, state is something the agent cannot go on without: transient
Redis errors are retried with backoff until Redis answers (flow control pauses the
agent's partitions meanwhile), and only other errors reach the handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import orjson
import redis.asyncio as aioredis

from streams.retrying import retrying

log = logging.getLogger(__name__)
T = TypeVar("T")
PREFIX = "agentstream:state:"


class KeyedState:
    """JSON values, bounded lists and hashes per key; ``ttl`` in seconds."""

    def __init__(self, client: aioredis.Redis, namespace: str) -> None:
        self.client = client
        self.prefix = f"{PREFIX}{namespace}:"

    def _retry(self, op: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        return retrying(op, "redis (keyed state)", log)

    async def get(self, key: str) -> Any | None:
        """The value ``put`` under ``key``, or None when there is none (or it expired)."""
        raw = await self._retry(lambda: self.client.get(self.prefix + key))
        return None if raw is None else orjson.loads(raw)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Replace the value; without ``ttl`` it does not expire."""
        raw = orjson.dumps(value)
        await self._retry(lambda: self.client.set(self.prefix + key, raw, px=_ms(ttl)))

    async def delete(self, key: str) -> None:
        await self._retry(lambda: self.client.delete(self.prefix + key))

    async def append(
        self, key: str, item: Any, *, keep: int, ttl: float | None = None
    ) -> list[Any]:
        """Add ``item`` to the list at ``key``, keep its last ``keep`` items, and return
        them, oldest first. ``ttl`` restarts the list's expiry; without it, an expiry set
        before stays."""
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        name, raw, ms = self.prefix + key, orjson.dumps(item), _ms(ttl)

        async def op() -> list[Any]:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.rpush(name, raw)
                pipe.ltrim(name, -keep, -1)
                if ms is not None:
                    pipe.pexpire(name, ms)
                pipe.lrange(name, 0, -1)
                replies = await pipe.execute()
            return list(replies[-1])

        return [orjson.loads(r) for r in await self._retry(op)]

    async def items(self, key: str) -> list[Any]:
        """The list ``append`` keeps at ``key``, oldest first (empty when there is none)."""
        raw: list[bytes] = await self._retry(
            lambda: self.client.lrange(self.prefix + key, 0, -1)  # type: ignore[arg-type,return-value]
        )
        return [orjson.loads(r) for r in raw]

    async def put_field(self, key: str, field: str, value: Any, ttl: float | None = None) -> int:
        """Set one field of the hash at ``key`` (fan-in: one field per part) and return
        how many fields it now holds. ``ttl`` restarts the hash's expiry."""
        name, raw, ms = self.prefix + key, orjson.dumps(value), _ms(ttl)

        async def op() -> int:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.hset(name, field, raw)
                if ms is not None:
                    pipe.pexpire(name, ms)
                pipe.hlen(name)
                replies = await pipe.execute()
            return int(replies[-1])

        return await self._retry(op)

    async def fields(self, key: str) -> dict[str, Any]:
        """Every field of the hash at ``key`` (empty when there is none)."""
        raw: dict[bytes, bytes] = await self._retry(
            lambda: self.client.hgetall(self.prefix + key)  # type: ignore[arg-type,return-value]
        )
        return {f.decode(): orjson.loads(v) for f, v in raw.items()}


def _ms(ttl: float | None) -> int | None:
    if ttl is None:
        return None
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")
    return max(1, int(ttl * 1000))
