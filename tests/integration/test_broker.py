"""The real broker: produce, consume in a group, commit, and resume from the commit."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from config import Settings
from streams.connection import client_kwargs, ensure_topics


async def _consume(settings: Settings, topic: str, group: str, n: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **client_kwargs(settings.kafka),
    )
    await consumer.start()
    try:
        got: list[bytes] = []
        while len(got) < n:
            batches = await consumer.getmany(timeout_ms=10_000, max_records=n - len(got))
            assert batches, "no records within 10 s"
            for records in batches.values():
                got.extend(r.value for r in records)
        await consumer.commit()
        return got
    finally:
        await consumer.stop()


async def test_group_commit_and_resume(settings: Settings, topic: str, group: str) -> None:
    await ensure_topics(settings.kafka, [topic], partitions=1)
    producer = AIOKafkaProducer(
        acks="all", enable_idempotence=True, **client_kwargs(settings.kafka)
    )
    await producer.start()
    try:
        for i in range(20):
            await producer.send(topic, f"m{i}".encode())
        await producer.flush()
    finally:
        await producer.stop()

    first = await _consume(settings, topic, group, 10)
    second = await _consume(settings, topic, group, 10)

    assert first == [f"m{i}".encode() for i in range(10)]
    assert second == [f"m{i}".encode() for i in range(10, 20)]

    consumer = AIOKafkaConsumer(group_id=group, **client_kwargs(settings.kafka))
    await consumer.start()
    try:
        assert await consumer.committed(TopicPartition(topic, 0)) == 20
    finally:
        await consumer.stop()
