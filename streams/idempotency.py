"""Dedupe for agents declared ``idempotent=True``: a claim per ``ce_id`` in Redis, with a TTL.

A claim goes through three states:

* ``queued:<token>`` when the event is taken (one pipeline per window). The token names
  this worker and the record, so a claim is only ever moved on by whoever queued it;
* ``started:<token>`` just before its handler runs, only if the claim is still the
  one this worker queued (events starting in the same loop step share one pipeline).
  An event with no earlier event of its key running or waiting is claimed ``started``
  at once, which saves that second round trip: it waits only for a free worker, and
  intake takes no more events while any does (at most a window of them);
* ``done`` once every record it produced is acknowledged.

A redelivered event whose claim is ``done`` is skipped. One whose claim is ``queued`` was
taken but never started (its worker died or lost the partition first), so nothing of it
happened: the claim is taken over and the event handled. One whose claim is ``started``
may have had side effects: it is dead-lettered rather than run twice. A worker whose
queued claim was taken over meanwhile does not start the event. The claim of an event
that became a dead letter is dropped, so that replaying the dead letter handles it again.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Literal, cast

import redis.asyncio as aioredis

from streams.retrying import retrying

log = logging.getLogger(__name__)

ClaimState = Literal["new", "started", "done"]

QUEUED, STARTED, DONE = b"queued:", b"started:", b"done"

#: Compare and set. KEYS[1] the claim; ARGV[1] the value expected, ARGV[2] the new one,
#: ARGV[3] the TTL in ms. 1 if the claim held the value expected and now holds the new
#: one, else 0. Takes over a never-started claim, and starts a queued one.
SWAP = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""


class Dedupe:
    def __init__(self, client: aioredis.Redis, agent: str, ttl: float) -> None:
        self.client = client
        self.prefix = f"agentstream:dedupe:{agent}:"
        self.ttl_ms = int(ttl * 1000)
        self.worker = os.urandom(6).hex()  # this process's claims
        self._starting: list[tuple[str, str, asyncio.Future[bool]]] = []

    def token(self, partition: int, offset: int) -> str:
        """What names one record's claim by this worker."""
        return f"{self.worker}:{partition}:{offset}"

    async def claim(self, claims: list[tuple[str, str, bool]]) -> list[ClaimState]:
        """A claim per ``(ce_id, token, starts)``: ``started`` for an event that starts at
        once, else ``queued``; what each event's claim was. One ``SET NX GET`` each; a
        claim found queued (its worker never started it) is taken over by compare and
        set, again with what is found if it changed meanwhile."""
        if not claims:
            return []
        ttl, prefix = self.ttl_ms, self.prefix
        mine = [(STARTED if starts else QUEUED) + token.encode() for _, token, starts in claims]
        async with self.client.pipeline(transaction=False) as pipe:
            for (event_id, _, _), value in zip(claims, mine, strict=True):
                pipe.set(prefix + event_id, value, nx=True, px=ttl, get=True)
            found: list[bytes | None] = await pipe.execute()
        while taking := [i for i, f in enumerate(found) if f is not None and f.startswith(QUEUED)]:
            async with self.client.pipeline(transaction=False) as pipe:
                for i in taking:
                    key = prefix + claims[i][0]
                    pipe.eval(SWAP, 1, key, cast(bytes, found[i]), mine[i], ttl)
                    pipe.set(key, mine[i], nx=True, px=ttl, get=True)  # gone meanwhile: ours
                answers = await pipe.execute()
            for n, i in enumerate(taking):
                swapped, now = answers[2 * n], answers[2 * n + 1]
                found[i] = None if swapped else now  # changed meanwhile: look again
        return [_state(f) for f in found]

    async def start(self, event_id: str, token: str) -> bool:
        """Mark the claim started if it is still the one queued with ``token``; False if
        another worker took it over (the event must not run here). Waits while Redis
        is unavailable."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._starting.append((event_id, token, future))
        if len(self._starting) == 1:
            asyncio.get_running_loop().call_soon(self._flush_starts)
        return await future

    def _flush_starts(self) -> None:
        starting, self._starting = self._starting, []
        task = asyncio.get_running_loop().create_task(self._start_all(starting))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # seen by the waiters

    async def _start_all(self, starting: list[tuple[str, str, asyncio.Future[bool]]]) -> None:
        async def run() -> list[int]:
            ttl = self.ttl_ms
            async with self.client.pipeline(transaction=False) as pipe:
                for event_id, token, _ in starting:
                    key, mine = self.prefix + event_id, token.encode()
                    pipe.eval(SWAP, 1, key, QUEUED + mine, STARTED + mine, ttl)
                return list(await pipe.execute())

        try:
            started = await retrying(run, "redis (idempotency keys)", log)
        except asyncio.CancelledError:
            for _, _, future in starting:
                future.cancel()
            raise
        except Exception as e:
            for _, _, future in starting:
                if not future.done():
                    future.set_exception(e)
            raise
        for (_, _, future), ok in zip(starting, started, strict=True):
            if not future.done():
                future.set_result(bool(ok))

    async def settle(self, done: list[str], dropped: list[str]) -> None:
        """Mark ``done`` handled; forget the claims of ``dropped`` (dead letters)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for event_id in done:
                pipe.set(self.prefix + event_id, DONE, px=self.ttl_ms)
            if dropped:
                pipe.delete(*(self.prefix + event_id for event_id in dropped))
            await pipe.execute()


def _state(found: bytes | None) -> ClaimState:
    if found is None:
        return "new"
    return "done" if found == DONE else "started"
