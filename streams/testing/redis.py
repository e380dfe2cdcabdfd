"""Redis in memory, for the parts of agentstream that keep data there.

:class:`MemoryRedis` is a ``redis.asyncio.Redis`` whose commands never reach a server:
keyed state (:class:`~streams.state.KeyedState`), idempotency claims
(:class:`~streams.idempotency.Dedupe`) and the caches' L2 and locks run their own code
against it unchanged. It answers the commands those send, as the client would after
parsing the server's reply (bytes in, bytes out, expiry in milliseconds); any other
command raises ``redis.exceptions.ResponseError`` naming the ones it knows.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from streams.cache_redis import UNLOCK
from streams.idempotency import SWAP

Value = bytes | list[bytes] | dict[bytes, bytes]
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


class MemoryRedis(aioredis.Redis):
    """One in-memory Redis database; its data lives as long as the object."""

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[bytes, Value] = {}
        self._expires: dict[bytes, float] = {}  # time.monotonic() deadlines
        pool: Any = self.connection_pool
        self._encode: Callable[[Any], bytes] = pool.get_encoder().encode  # the client's own

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        return self.run(*args)

    def pipeline(self, transaction: bool = True, shard_hint: str | None = None) -> Pipeline:
        return MemoryPipeline(self, transaction)

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        """Nothing to close; the data stays readable."""

    def run(self, name: Any, *args: Any) -> Any:
        """One command, answered at once."""
        command = _COMMANDS.get(self.word(name))
        if command is None:
            known = ", ".join(sorted(_COMMANDS))
            raise ResponseError(f"unknown command {name!r} (MemoryRedis answers {known})")
        return command(self, *args)

    # -- keys -------------------------------------------------------------------------------
    def word(self, token: Any) -> str:
        return self._encode(token).decode(errors="replace").upper()

    def value(self, key: Any, kind: type | None = None) -> Any:
        """What ``key`` holds (None when nothing or expired); ``kind`` checks its type."""
        name = self._encode(key)
        deadline = self._expires.get(name)
        if deadline is not None and time.monotonic() >= deadline:
            self._data.pop(name, None)
            del self._expires[name]
        value = self._data.get(name)
        if value is not None and kind is not None and not isinstance(value, kind):
            raise ResponseError(WRONGTYPE)
        return value

    def store(self, key: Any, value: Value) -> None:
        self._data[self._encode(key)] = value

    def drop(self, key: Any) -> bool:
        existed = self.value(key) is not None
        name = self._encode(key)
        self._data.pop(name, None)
        self._expires.pop(name, None)
        return existed

    def expire_in(self, key: Any, ms: float | None) -> None:
        """Expire ``key`` in ``ms`` milliseconds (None: never)."""
        name = self._encode(key)
        if ms is None:
            self._expires.pop(name, None)
        else:
            self._expires[name] = time.monotonic() + ms / 1000

    def keys_matching(self, pattern: str) -> list[bytes]:
        live = [k for k in list(self._data) if self.value(k) is not None]
        return [k for k in live if fnmatch.fnmatchcase(k.decode("latin-1"), pattern)]

    def encode(self, value: Any) -> bytes:
        return self._encode(value)

    def clear(self) -> None:
        self._data.clear()
        self._expires.clear()


class MemoryPipeline(Pipeline):
    """Queues commands like a pipeline and runs them on its :class:`MemoryRedis` at
    ``execute``, all in one step (so a transaction is atomic)."""

    def __init__(self, redis: MemoryRedis, transaction: bool) -> None:
        super().__init__(redis.connection_pool, redis.response_callbacks, transaction, None)
        self._memory = redis

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        stack, self.command_stack = self.command_stack, []
        results: list[Any] = []
        for args, _ in stack:
            try:
                results.append(self._memory.run(*args))
            except ResponseError as e:
                if raise_on_error:
                    raise
                results.append(e)
        return results


def _span(length: int, start: int, end: int) -> slice:
    """Redis's inclusive, negative-from-the-end ``start``/``end`` as a slice."""
    if start < 0:
        start = max(length + start, 0)
    if end < 0:
        end += length
    return slice(start, max(start, end + 1))


def _options(r: MemoryRedis, tokens: tuple[Any, ...]) -> dict[str, Any]:
    """``NX``/``GET``-style flags as True, ``PX 100``/``MATCH p`` pairs as their value."""
    with_value = {"PX", "EX", "MATCH", "COUNT", "TYPE"}
    out: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        name = r.word(tokens[i])
        if name in with_value:
            out[name] = tokens[i + 1]
            i += 2
        else:
            out[name] = True
            i += 1
    return out


def _get(r: MemoryRedis, key: Any) -> bytes | None:
    found: bytes | None = r.value(key, bytes)
    return found


def _set(r: MemoryRedis, key: Any, value: Any, *tokens: Any) -> Any:
    o = _options(r, tokens)
    old = r.value(key, bytes if "GET" in o else None)
    allowed = not ((o.get("NX") and old is not None) or (o.get("XX") and old is None))
    if allowed:
        r.store(key, r.encode(value))
        if "PX" in o:
            r.expire_in(key, float(o["PX"]))
        elif "EX" in o:
            r.expire_in(key, float(o["EX"]) * 1000)
        elif "KEEPTTL" not in o:
            r.expire_in(key, None)
    if "GET" in o:
        return old
    return True if allowed else None


def _delete(r: MemoryRedis, *keys: Any) -> int:
    return sum(r.drop(k) for k in keys)


def _exists(r: MemoryRedis, *keys: Any) -> int:
    return sum(r.value(k) is not None for k in keys)


def _pexpire(r: MemoryRedis, key: Any, ms: Any, *tokens: Any) -> bool:
    if r.value(key) is None:
        return False
    r.expire_in(key, float(ms))
    return True


def _rpush(r: MemoryRedis, key: Any, *values: Any) -> int:
    items = r.value(key, list)
    if items is None:
        items = []
        r.store(key, items)
    items.extend(r.encode(v) for v in values)
    return len(items)


def _lrange(r: MemoryRedis, key: Any, start: Any, end: Any) -> list[bytes]:
    items = r.value(key, list) or []
    return list(items[_span(len(items), int(start), int(end))])


def _ltrim(r: MemoryRedis, key: Any, start: Any, end: Any) -> bool:
    items = r.value(key, list)
    if items is not None:
        items[:] = items[_span(len(items), int(start), int(end))]
        if not items:
            r.drop(key)
    return True


def _hset(r: MemoryRedis, key: Any, *pairs: Any) -> int:
    fields = r.value(key, dict)
    if fields is None:
        fields = {}
        r.store(key, fields)
    added = 0
    for field, value in zip(pairs[::2], pairs[1::2], strict=True):
        name = r.encode(field)
        added += name not in fields
        fields[name] = r.encode(value)
    return added


def _hlen(r: MemoryRedis, key: Any) -> int:
    return len(r.value(key, dict) or {})


def _hgetall(r: MemoryRedis, key: Any) -> dict[bytes, bytes]:
    return dict(r.value(key, dict) or {})


def _eval(r: MemoryRedis, script: Any, numkeys: Any, *keys_and_args: Any) -> Any:
    """The scripts agentstream runs: the cache's unlock (delete if still ours) and the
    idempotency claims (see :mod:`streams.idempotency`)."""
    key, args = keys_and_args[0], keys_and_args[int(numkeys) :]
    if script == UNLOCK:
        if r.value(key, bytes) == r.encode(args[0]):
            return int(r.drop(key))
        return 0
    if script == SWAP:
        if r.value(key, bytes) == r.encode(args[0]):
            _set(r, key, args[1], "PX", args[2])
            return 1
        return 0
    raise ResponseError("MemoryRedis runs only agentstream's own scripts")


def _scan(r: MemoryRedis, cursor: Any, *tokens: Any) -> tuple[int, list[bytes]]:
    """Every live key matching ``MATCH`` in one step (cursor 0: done)."""
    pattern = r.encode(_options(r, tokens).get("MATCH", "*")).decode("latin-1")
    return 0, r.keys_matching(pattern)


def _ping(r: MemoryRedis, *message: Any) -> bool:
    return True


def _flushall(r: MemoryRedis, *tokens: Any) -> bool:
    r.clear()
    return True


_COMMANDS: dict[str, Callable[..., Any]] = {
    "DEL": _delete,
    "EVAL": _eval,
    "EXISTS": _exists,
    "FLUSHALL": _flushall,
    "FLUSHDB": _flushall,
    "GET": _get,
    "HGETALL": _hgetall,
    "HLEN": _hlen,
    "HSET": _hset,
    "LRANGE": _lrange,
    "LTRIM": _ltrim,
    "PEXPIRE": _pexpire,
    "PING": _ping,
    "RPUSH": _rpush,
    "SCAN": _scan,
    "SET": _set,
}
