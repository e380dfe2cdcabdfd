"""Exactly-once apps over the real broker: outputs and input offsets commit in one
transaction per input partition; a fenced worker (a zombie) stops and nothing of its open
transaction becomes visible."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from config import Settings
from schemas import Message
from streams import App, BatchContext, Client, Context, Retry
from streams.connection import client_kwargs
from streams.errors import ConfigurationError, RequestFailed
from streams.transactions import Fenced, Transactions
from tests.integration.helpers import event, produce
from tests.integration.workers import wait_until


class Job(Message):
    id: int
    fail: bool = False


class Done(Message):
    id: int


async def read_all(
    settings: Settings, topic: str, *, committed: bool = True, wait: float = 3.0
) -> list[tuple[bytes | None, list[tuple[str, bytes]]]]:
    """Every record of ``topic`` visible at this isolation level."""
    consumer = AIOKafkaConsumer(
        topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed" if committed else "read_uncommitted",
        **client_kwargs(settings.kafka),
    )
    await consumer.start()
    got: list[tuple[bytes | None, list[tuple[str, bytes]]]] = []
    try:
        idle = 0.0
        while idle < wait:
            batches = await consumer.getmany(timeout_ms=500)
            records = [r for rs in batches.values() for r in rs]
            idle = 0.0 if records else idle + 0.5
            got.extend((r.value, list(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return got


async def committed_offset(settings: Settings, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(
        group_id=group, enable_auto_commit=False, **client_kwargs(settings.kafka)
    )
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


async def test_results_fan_out_and_offsets_commit_together(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings, guarantee="exactly_once")
    audit = f"{topic}-audit"

    @app.agent(topic, concurrency=8, retry=Retry(attempts=1))
    async def work(msg: Job, ctx: Context) -> Done:
        if msg.fail:
            raise ValueError(f"job {msg.id} fails")
        await ctx.send(audit, Done(id=msg.id))
        await asyncio.sleep(0.001 * (msg.id % 5))  # finish out of order
        return Done(id=msg.id)

    @app.agent(audit)
    async def audited(msg: Done, ctx: Context) -> None:
        return None

    n = 200
    jobs: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = [
        (b"%d" % (i % 7), *event(Job(id=i, fail=i % 50 == 0))) for i in range(n)
    ]
    await produce(settings, topic, jobs)
    async with app.running():

        async def all_committed() -> bool:
            return await committed_offset(settings, app.id, topic) == n

        await wait_until(all_committed, 60, "every input offset committed")
        assert app.failure() is None

    results = await read_all(settings, f"{topic}.replies")
    letters = await read_all(settings, f"{topic}.dlq")
    fanned = await read_all(settings, audit)
    ids = sorted(Done.model_validate_json(v or b"").id for v, _ in results)
    assert ids == [i for i in range(n) if i % 50 != 0]  # each exactly once
    assert len(letters) == 4
    assert sorted(Done.model_validate_json(v or b"").id for v, _ in fanned) == ids
    # Uncommitted readers see the transaction markers' effects only: no aborted records.
    assert len(await read_all(settings, f"{topic}.replies", committed=False)) == len(ids)


async def test_a_batch_agent_and_a_failed_request_answer_at_once(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings, guarantee="exactly_once")

    @app.agent(topic, retry=Retry(attempts=1))
    async def single(msg: Job, ctx: Context) -> Done:
        if msg.fail:
            raise ValueError("refused")
        return Done(id=msg.id)

    @app.agent(f"{topic}-batch")
    async def many(batch: list[Job], ctx: BatchContext) -> list[Done]:
        return [Done(id=m.id * 10) for m in batch]

    async with app.running(), Client(settings) as client:
        reply = await client.ask(topic, Job(id=1), timeout=30)
        assert reply.parse(Done).id == 1
        with pytest.raises(RequestFailed, match="refused"):
            await client.ask(topic, Job(id=2, fail=True), timeout=30)
        batch_reply = await client.ask(f"{topic}-batch", Job(id=3), timeout=30)
        assert batch_reply.parse(Done).id == 30
        assert app.failure() is None


async def test_a_fenced_worker_stops_and_its_transaction_stays_invisible(
    settings: Settings, topic: str
) -> None:
    """The zombie case, made deterministic: while the app handles an event, another
    producer takes the partition's transactional id (what the partition's next owner
    does on assignment); the app's transaction is fenced, the app stops with
    :class:`Fenced`, and no output of that event is visible to committed readers."""
    app = App(f"app-{topic}", settings, guarantee="exactly_once")
    side = app.declare_topic(f"{topic}-side")
    started = asyncio.Event()
    go_on = asyncio.Event()

    @app.agent(topic)
    async def slow(msg: Job, ctx: Context) -> Done:
        await ctx.send(side, Done(id=msg.id))
        if msg.id == 2:
            started.set()
            await go_on.wait()
        return Done(id=msg.id)

    await produce(settings, topic, [(b"k", *event(Job(id=1)))])
    usurper = Transactions(settings.kafka, app.id, [topic])
    async with app.running():

        async def first_committed() -> bool:
            return await committed_offset(settings, app.id, topic) == 1

        await wait_until(first_committed, 60, "the first event committed")
        await produce(settings, topic, [(b"k", *event(Job(id=2)))])
        await asyncio.wait_for(started.wait(), 30)
        await usurper.assign([(topic, 0)])  # the next owner's start fences this worker
        go_on.set()
        assert app.crashed is not None
        with pytest.raises(Fenced):
            await asyncio.wait_for(asyncio.shield(app.crashed), 30)
    await usurper.stop()

    replies = [
        Done.model_validate_json(v or b"").id
        for v, _ in await read_all(settings, f"{topic}.replies")
    ]
    sent = [Done.model_validate_json(v or b"").id for v, _ in await read_all(settings, side)]
    assert (replies, sent) == ([1], [1])
    assert await committed_offset(settings, app.id, topic) == 1


async def test_a_broker_refusing_the_transaction_timeout_is_a_clear_error(
    settings: Settings, topic: str
) -> None:
    """The broker caps transactions at transaction.max.timeout.ms (15 min by default):
    a longer timeout stops the app with an error that says what to change."""
    kafka = settings.kafka.model_copy(update={"transaction_timeout": 3600.0})
    app = App(
        f"app-{topic}", settings.model_copy(update={"kafka": kafka}), guarantee="exactly_once"
    )

    @app.agent(topic)
    async def work(msg: Job, ctx: Context) -> Done:
        return Done(id=msg.id)

    async with app.running():
        assert app.crashed is not None
        with pytest.raises(ConfigurationError, match=r"transaction\.max\.timeout\.ms"):
            await asyncio.wait_for(asyncio.shield(app.crashed), 60)


def test_a_transaction_timeout_below_the_request_timeout_is_refused(settings: Settings) -> None:
    kafka = settings.kafka.model_copy(update={"transaction_timeout": 30.0, "request_timeout": 60.0})
    with pytest.raises(ConfigurationError, match=r"shorter than kafka\.request_timeout"):
        Transactions(kafka, "app", ["t"])
