"""Reading assigned partitions outside any consumer group: from the consumer's current
positions up to given end offsets (a snapshot of what is there), or on and on."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

#: How long one fetch waits for records before the ends are checked again.
FETCH_WAIT_MS = 1000


async def records(
    consumer: AIOKafkaConsumer,
    tps: list[TopicPartition],
    ends: Mapping[TopicPartition, int] | None = None,
) -> AsyncGenerator[ConsumerRecord, None]:
    """The records of ``tps`` (assigned to ``consumer``) from their positions on; with
    ``ends``, each partition stops before its end offset and the iteration ends when
    every partition reached its end, else it goes on until the caller stops."""
    pending = set(tps) if ends is None else await _short_of(consumer, set(tps), ends)
    while pending:
        batches = await consumer.getmany(*pending, timeout_ms=FETCH_WAIT_MS)
        for tp, batch in batches.items():
            for record in batch:
                if ends is None or record.offset < ends[tp]:
                    yield record
        if ends is not None:
            pending = await _short_of(consumer, pending, ends)


async def _short_of(
    consumer: AIOKafkaConsumer, tps: set[TopicPartition], ends: Mapping[TopicPartition, int]
) -> set[TopicPartition]:
    """The partitions whose position is still before their end offset."""
    return {tp for tp in tps if await consumer.position(tp) < ends[tp]}
