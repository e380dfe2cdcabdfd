"""Idempotency claims (streams.idempotency) on the real Redis, and the in-memory Redis of
the test harness answering the same way: a claim queued but never started is taken over
by the next worker; a started one is not; a worker whose claim was taken over does not
start the event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from config import Settings
from streams.idempotency import Dedupe
from streams.testing import MemoryRedis


@pytest.fixture(params=["redis", "memory"])
async def client(
    request: pytest.FixtureRequest, settings: Settings
) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(settings.redis.url) if request.param == "redis" else MemoryRedis()
    try:
        yield c
    finally:
        await c.aclose()


def workers(client: aioredis.Redis) -> tuple[Dedupe, Dedupe]:
    agent = f"claims-{uuid.uuid4().hex[:8]}"
    return Dedupe(client, agent, 60), Dedupe(client, agent, 60)


async def test_a_claim_queued_by_a_worker_that_never_started_it_is_taken_over(
    client: aioredis.Redis,
) -> None:
    a, b = workers(client)
    assert await a.claim([("e1", a.token(0, 7), False)]) == ["new"]
    # a dies (or loses the partition) before the event's turn comes
    assert await b.claim([("e1", b.token(0, 7), False)]) == ["new"]
    assert await b.start("e1", b.token(0, 7))
    assert not await a.start("e1", a.token(0, 7))  # a late a must not run it too


async def test_a_started_claim_is_reported_and_a_done_one_skipped(client: aioredis.Redis) -> None:
    a, b = workers(client)
    assert await a.claim([("e1", a.token(0, 1), False), ("e2", a.token(0, 2), False)]) == [
        "new",
        "new",
    ]
    assert await a.start("e1", a.token(0, 1))
    assert await a.start("e2", a.token(0, 2))
    await a.settle(["e2"], [])
    assert await b.claim([("e1", b.token(0, 1), False), ("e2", b.token(0, 2), False)]) == [
        "started",
        "done",
    ]
    assert not await b.start("e1", b.token(0, 1))  # b never queued it


async def test_the_same_event_taken_twice_by_one_worker_starts_once(client: aioredis.Redis) -> None:
    a, _ = workers(client)
    first, second = a.token(0, 1), a.token(3, 9)  # two records with one ce_id
    assert await a.claim([("e1", first, False)]) == ["new"]
    assert await a.claim([("e1", second, False)]) == ["new"]
    started = list(await asyncio.gather(a.start("e1", first), a.start("e1", second)))
    assert started == [False, True]


async def test_a_dead_letter_drops_its_claim_so_a_replay_runs(client: aioredis.Redis) -> None:
    a, b = workers(client)
    await a.claim([("e1", a.token(0, 1), False)])
    assert await a.start("e1", a.token(0, 1))
    await a.settle([], ["e1"])
    assert await b.claim([("e1", b.token(1, 5), False)]) == ["new"]


async def test_starts_in_one_loop_step_share_one_round_trip(client: aioredis.Redis) -> None:
    a, _ = workers(client)
    tokens = [(f"e{i}", a.token(0, i)) for i in range(50)]
    await a.claim([(e, t, False) for e, t in tokens])
    sent = 0
    pipeline = client.pipeline

    def counting(*args: object, **kwargs: object) -> object:
        nonlocal sent
        sent += 1
        return pipeline(*args, **kwargs)  # type: ignore[arg-type]

    client.pipeline = counting  # type: ignore[method-assign,assignment]
    assert all(await asyncio.gather(*(a.start(e, t) for e, t in tokens)))
    assert sent == 1


async def test_an_event_claimed_as_it_starts_is_never_taken_over(client: aioredis.Redis) -> None:
    a, b = workers(client)
    assert await a.claim([("e1", a.token(0, 1), True)]) == ["new"]  # a free worker ran it
    assert await b.claim([("e1", b.token(0, 1), False)]) == ["started"]
