"""Rate limits shared by every gateway replica: GCRA (the generic cell rate algorithm, a
token bucket kept as one timestamp per key) in Redis, with Redis's own clock, so that N
replicas together allow what one would, whatever their clocks say.

A key's value is its *theoretical arrival time* (TAT) in microseconds: a request at
``now`` is allowed when ``TAT - burst * interval <= now``, and then moves the TAT one
``interval`` (1 / rate) on. The key expires once the bucket is full again, so idle
clients cost nothing. One script checks every key of a request and spends from all of
them or from none (an address and a customer, say): a client cannot drain one quota by
being refused by another.

Why not a library: `limits` offers fixed and moving windows over its own connection
pool; its async Redis storage needs another client library, and none of its strategies
spends several keys all or nothing. The script below is that and no more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis.asyncio as aioredis

from config.settings import Quota

# KEYS: the buckets. ARGV[1]: "take" (spend one from every bucket or none), "peek" (say
# the wait, spend nothing) or "refund" (give one back to every bucket); then for each
# key its interval and burst. Returns the wait in microseconds (0: allowed).
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mode = ARGV[1]
local wait = 0
local tats = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', key) or now)
  if tat < now then tat = now end
  if mode == 'refund' then
    tats[i] = math.max(now, tat - interval)
  else
    tats[i] = tat + interval
    local allowed_at = tats[i] - burst * interval
    if allowed_at - now > wait then wait = allowed_at - now end
  end
end
if mode == 'peek' or wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  local ttl = math.ceil((tats[i] - now) / 1000) + 1
  redis.call('SET', key, string.format('%.0f', tats[i]), 'PX', ttl)
end
return 0
"""


@dataclass(frozen=True, slots=True)
class Spend:
    """One request's cost in one quota: ``key`` names whose bucket (``ip:...``)."""

    quota: Quota
    key: str


class Limiter:
    """The gateway's quotas in Redis under ``namespace``."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.namespace = namespace
        self._script = redis.register_script(_GCRA)

    async def take(self, *spends: Spend) -> float:
        """Spend one request from every quota and return 0, or spend none and return
        the seconds until every quota has room."""
        return await self._run("take", spends)

    async def peek(self, *spends: Spend) -> float:
        """The seconds until every quota has room (0: now), spending nothing."""
        return await self._run("peek", spends)

    async def refund(self, *spends: Spend) -> None:
        """Give back what :meth:`take` spent (a request that turned out to cost nothing)."""
        await self._run("refund", spends)

    async def _run(self, mode: str, spends: tuple[Spend, ...]) -> float:
        unique = {s.key: s for s in spends}.values()
        keys = [f"{self.namespace}{s.key}" for s in unique]
        args: list[str | int] = [mode]
        for s in unique:
            args += [max(1, round(1_000_000 / s.quota.rate)), s.quota.burst]
        wait = await self._script(keys=keys, args=args)
        return int(wait) / 1_000_000


def retry_after(wait: float) -> str:
    """A Retry-After header value: whole seconds, at least 1."""
    return str(max(1, math.ceil(wait)))
