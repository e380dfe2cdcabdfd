"""Dedupe for agents declared ``idempotent=True``: Redis ``SET NX`` on ``ce_id`` with a TTL.

A claim is ``pending`` while the event is handled and becomes ``done`` once every record
it produced is acknowledged. A redelivered event whose claim is ``done`` is skipped; one
whose claim is still ``pending`` started before a crash, so its side effects may already
have happened: it is dead-lettered rather than run twice. The claim of an event that
became a dead letter is dropped, so that replaying the dead letter handles it again.
"""

from __future__ import annotations

from typing import Literal

import redis.asyncio as aioredis

ClaimState = Literal["new", "pending", "done"]


class Dedupe:
    def __init__(self, client: aioredis.Redis, agent: str, ttl: float) -> None:
        self.client = client
        self.prefix = f"agentstream:dedupe:{agent}:"
        self.ttl_ms = int(ttl * 1000)

    async def claim(self, ids: list[str]) -> list[ClaimState]:
        if not ids:
            return []
        async with self.client.pipeline(transaction=False) as pipe:
            for event_id in ids:
                pipe.set(self.prefix + event_id, b"pending", nx=True, px=self.ttl_ms, get=True)
            previous = await pipe.execute()
        return [_state(p) for p in previous]

    async def settle(self, done: list[str], dropped: list[str]) -> None:
        """Mark ``done`` handled; forget the claims of ``dropped`` (dead letters)."""
        async with self.client.pipeline(transaction=False) as pipe:
            for event_id in done:
                pipe.set(self.prefix + event_id, b"done", px=self.ttl_ms)
            if dropped:
                pipe.delete(*(self.prefix + event_id for event_id in dropped))
            await pipe.execute()


def _state(previous: bytes | None) -> ClaimState:
    if previous is None:
        return "new"
    return "done" if previous == b"done" else "pending"
