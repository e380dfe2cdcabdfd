"""Produce and collect raw records for integration tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from config import Settings
from schemas import Envelope, Message
from streams.codec import encode
from streams.connection import client_kwargs, ensure_topics


async def produce(
    settings: Settings,
    topic: str,
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]],
) -> None:
    """Send records to ``topic``, creating it (one partition) if the cluster lacks it."""
    await ensure_topics(settings.kafka, [topic], 1)
    producer = AIOKafkaProducer(
        acks="all", max_request_size=16 * 1024 * 1024, **client_kwargs(settings.kafka)
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v, headers=h) for k, v, h in records]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def event(msg: Message, **envelope: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    env = Envelope.new(msg.message_type, "tests", **envelope)
    return encode(msg), env.to_headers()


async def collect(
    settings: Settings, topic: str, count: int, wait: float = 60.0
) -> list[ConsumerRecord]:
    """Read ``topic`` from the start until ``count`` records arrived or ``wait`` seconds."""
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False,
        **client_kwargs(settings.kafka),
    )  # fmt: skip
    await consumer.start()
    got: list[ConsumerRecord] = []
    deadline = time.monotonic() + wait
    try:
        while len(got) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                got.extend(records)
    finally:
        await consumer.stop()
    return got


async def find(
    settings: Settings, topic: str, match: Callable[[ConsumerRecord], bool], wait: float = 60.0
) -> ConsumerRecord:
    """The first record of ``topic`` (read from the start) that ``match`` accepts, within
    ``wait`` seconds; AssertionError if none came."""
    consumer = AIOKafkaConsumer(
        topic, auto_offset_reset="earliest", enable_auto_commit=False, metadata_max_age_ms=1000,
        **client_kwargs(settings.kafka),
    )  # fmt: skip
    await consumer.start()
    deadline = time.monotonic() + wait
    try:
        while time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if match(record):
                        return record
    finally:
        await consumer.stop()
    raise AssertionError(f"no such record in {topic} within {wait}s")
