"""Records queued for a topic that vanished fail at once (streams.publisher).

aiokafka's producer, unstarted, holds the batches; a metadata snapshot in which a topic is
missing is what the broker answers once a client deleted its reply topic."""

import asyncio
import inspect
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.producer.message_accumulator import MessageAccumulator
from aiokafka.structs import TopicPartition

from config import KafkaSettings
from streams.errors import UnknownTopic
from streams.publisher import Publisher

GONE, KEPT = TopicPartition("replies.gone", 0), TopicPartition("replies.kept", 0)


def snapshot(*topics: str) -> Any:
    """Cluster metadata that reports ``topics`` (one partition each) and nothing else."""
    return SimpleNamespace(partitions_for_topic=lambda t: {0} if t in topics else None)


@pytest.fixture
async def p() -> AsyncIterator[Publisher]:
    publisher = Publisher(KafkaSettings())
    publisher.producer._txn_manager.set_pid_and_epoch(1, 0)  # as after start
    publisher.partition_counts.update({GONE.topic: 1, KEPT.topic: 1})
    yield publisher
    await publisher.producer.stop()


async def queue(p: Publisher, tp: TopicPartition, value: bytes) -> asyncio.Future[Any]:
    accumulator = p.producer._message_accumulator
    future: asyncio.Future[Any] = await accumulator.add_message(tp, None, value, timeout=1)
    return future


async def test_records_of_a_topic_the_cluster_lost_fail_at_once_naming_it(p: Publisher) -> None:
    gone = [await queue(p, GONE, b"a"), await queue(p, GONE, b"b")]
    kept = await queue(p, KEPT, b"c")

    p._on_metadata(snapshot(KEPT.topic))
    await asyncio.sleep(0)

    for future in gone:
        with pytest.raises(UnknownTopic, match=r"topic 'replies.gone' does not exist"):
            future.result()
    assert not kept.done()
    assert list(p.producer._message_accumulator._batches) == [KEPT]
    assert p.deleted(GONE.topic)
    assert not p.deleted(KEPT.topic)
    assert GONE.topic not in p.partition_counts
    assert p.partition_counts[KEPT.topic] == 1


async def test_a_batch_back_from_a_failed_attempt_fails_cleanly(p: Publisher) -> None:
    """A batch the sender sent, got "unknown topic" for and queued again is failed
    without breaking aiokafka's bookkeeping of batches in flight."""
    future = await queue(p, GONE, b"a")
    accumulator = p.producer._message_accumulator
    batch = accumulator._pop_batch(GONE)  # what the sender does before a produce request
    accumulator.reenqueue(batch)  # ... and after a retriable error
    errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, ctx: errors.append(ctx))

    p._on_metadata(snapshot())
    await asyncio.sleep(0)

    assert isinstance(future.exception(), UnknownTopic)
    assert accumulator._pending_batches == set()
    assert errors == []


async def test_nothing_is_failed_while_the_cluster_reports_every_queued_topic(p: Publisher) -> None:
    future = await queue(p, GONE, b"a")

    p._on_metadata(snapshot(GONE.topic))

    assert not future.done()
    assert not p.deleted(GONE.topic)
    assert p.partition_counts[GONE.topic] == 1


async def test_aiokafka_keeps_the_queued_batches_where_the_publisher_fails_them(
    p: Publisher,
) -> None:
    """The publisher reads ``_batches`` and calls ``_pop_batch`` of aiokafka's accumulator
    and reads its client's ``_topics``; an upgrade that renames them must fail here."""
    source = inspect.getsource(MessageAccumulator)
    assert "self._batches = collections.defaultdict(collections.deque)" in source
    assert callable(MessageAccumulator._pop_batch)
    assert "del self._batches[tp]" in inspect.getsource(MessageAccumulator._pop_batch)
    assert isinstance(p.producer.client._topics, set)
