"""Taking over a claim that changes meanwhile (streams.idempotency), on the harness's
Redis, where a test can change a key between two of the claimant's round trips."""

from __future__ import annotations

from typing import Any

from streams.idempotency import Dedupe
from streams.testing import MemoryRedis


def racing(client: MemoryRedis, key: str, value: bytes | None) -> None:
    """Set (or delete, for None) ``key`` just before the second pipeline is created."""
    made = 0
    pipeline = client.pipeline

    def pipeline_then_change(*args: Any, **kwargs: Any) -> Any:
        nonlocal made
        made += 1
        if made == 2:
            if value is None:
                client.drop(key)
            else:
                client.store(key, value)
        return pipeline(*args, **kwargs)

    client.pipeline = pipeline_then_change  # type: ignore[method-assign]


async def test_a_queued_claim_started_by_its_worker_meanwhile_is_not_taken_over() -> None:
    client = MemoryRedis()
    a, b = Dedupe(client, "x", 60), Dedupe(client, "x", 60)
    await a.claim([("e1", a.token(0, 1), False)])
    racing(client, a.prefix + "e1", b"started:" + a.token(0, 1).encode())
    assert await b.claim([("e1", b.token(0, 1), False)]) == ["started"]


async def test_a_queued_claim_dropped_meanwhile_is_claimed_afresh() -> None:
    client = MemoryRedis()
    a, b = Dedupe(client, "x", 60), Dedupe(client, "x", 60)
    await a.claim([("e1", a.token(0, 1), False)])
    racing(client, a.prefix + "e1", None)
    assert await b.claim([("e1", b.token(0, 1), False)]) == ["new"]
    assert not await a.start("e1", a.token(0, 1))
    assert await b.start("e1", b.token(0, 1))
