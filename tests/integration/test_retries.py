"""Retries in place, then exactly one dead letter carrying the design's headers."""

from __future__ import annotations

import asyncio
import collections

from config import Settings
from schemas import Message
from streams import App, Context, RetriableError, Retry
from tests.integration.helpers import collect, event, produce

DLQ_HEADERS = {
    "dlq.original.topic",
    "dlq.original.partition",
    "dlq.original.offset",
    "dlq.stage",
    "dlq.error.class",
    "dlq.error.message",
    "dlq.error.stacktrace",
    "dlq.attempts",
    "dlq.agent",
    "dlq.failed.at",
}


class Job(Message):
    id: int
    mode: str


class Done(Message):
    id: int
    attempts: int


class Flaky(RetriableError):
    pass


async def test_retry_then_success_and_dead_letter_after_last_attempt(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)
    runs: collections.Counter[int] = collections.Counter()

    @app.agent(topic, retry=Retry(attempts=3, backoff=0.01), timeout=0.5)
    async def work(msg: Job, ctx: Context) -> Done:
        runs[msg.id] += 1
        if msg.mode == "twice" and runs[msg.id] <= 2:
            raise Flaky(f"transient failure {runs[msg.id]}")
        if msg.mode == "always":
            raise Flaky("never works")
        if msg.mode == "bug":
            raise ValueError("not retriable")
        if msg.mode == "slow":
            await asyncio.sleep(5)
        return Done(id=msg.id, attempts=runs[msg.id])

    jobs = [Job(id=1, mode="twice"), Job(id=2, mode="always"), Job(id=3, mode="bug"),
            Job(id=4, mode="slow"), Job(id=5, mode="ok")]  # fmt: skip
    inputs = [event(j) for j in jobs]
    async with app.running():
        await produce(
            settings, topic, [(b"k%d" % j.id, v, h) for j, (v, h) in zip(jobs, inputs, strict=True)]
        )
        replies = await collect(settings, f"{topic}.replies", 2)
        dead = await collect(settings, f"{topic}.dlq", 3)
        await asyncio.sleep(1)  # nothing more may arrive
        assert len(await collect(settings, f"{topic}.dlq", 4, wait=1)) == 3

    assert {(d.id, d.attempts) for d in (Done.model_validate_json(r.value) for r in replies)} == {
        (1, 3),
        (5, 1),
    }
    by_key = {d.key: d for d in dead}
    assert set(by_key) == {b"k2", b"k3", b"k4"}
    expect = {b"k2": ("handle", "3", "Flaky"), b"k3": ("handle", "1", "ValueError"),
              b"k4": ("timeout", "3", "HandlerTimeout")}  # fmt: skip
    for key, (stage, attempts, cls) in expect.items():
        record = by_key[key]
        headers = dict(record.headers)
        assert set(headers) >= DLQ_HEADERS, DLQ_HEADERS - set(headers)
        assert headers["dlq.stage"].decode() == stage
        assert headers["dlq.attempts"].decode() == attempts
        assert headers["dlq.error.class"].decode().endswith(cls)
        assert headers["dlq.agent"] == b"work"
        assert len(headers["dlq.error.stacktrace"]) <= 8 * 1024
        index = int(key[1:]) - 1
        value, original_headers = inputs[index]
        assert record.value == value
        assert list(record.headers)[: len(original_headers)] == original_headers
    assert runs[2] == 3
    assert runs[3] == 1


async def test_what_a_failed_attempt_sent_is_not_published(settings: Settings, topic: str) -> None:
    """Fan-out of attempts that fail is discarded: an event that sends, then fails twice
    and succeeds, publishes one fan-out record; one that always fails publishes none."""
    app = App(f"app-{topic}", settings)
    fanout = f"{topic}.fanout"
    runs: collections.Counter[int] = collections.Counter()

    @app.agent(topic, retry=Retry(attempts=3, backoff=0.01, outage=0))
    async def work(msg: Job, ctx: Context) -> Done:
        runs[msg.id] += 1
        await ctx.send(fanout, Done(id=msg.id, attempts=runs[msg.id]))
        if msg.mode == "always" or (msg.mode == "twice" and runs[msg.id] <= 2):
            raise Flaky(f"attempt {runs[msg.id]}")
        return Done(id=msg.id, attempts=runs[msg.id])

    await produce(settings, fanout, [])  # creates the fan-out topic
    jobs = [Job(id=1, mode="twice"), Job(id=2, mode="always")]
    await produce(settings, topic, [(None, *event(j)) for j in jobs])
    async with app.running():
        dead = await collect(settings, f"{topic}.dlq", 1)
        replies = await collect(settings, f"{topic}.replies", 1)
        sent = await collect(settings, fanout, 2, wait=3)
    assert len(dead) == 1
    assert [Done.model_validate_json(r.value).attempts for r in replies] == [3]
    assert [Done.model_validate_json(r.value).model_dump() for r in sent] == [
        {"id": 1, "attempts": 3}
    ]
