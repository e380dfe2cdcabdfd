"""The one producer of a worker or client: acks=all, idempotent, futures per record.

Results and fan-out of a window go through an :class:`OutBatch`: records are appended to
one aiokafka ``BatchBuilder`` per partition and submitted together, which costs a fraction
of ``AIOKafkaProducer.send`` per record.
"""

from __future__ import annotations

import asyncio
import random
from functools import partial
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2

from config import KafkaSettings
from schemas import Envelope, Headers, Message
from streams.codec import encode
from streams.connection import client_kwargs
from streams.errors import UnknownTopic

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # dead letters carry oversized inputs byte for byte
PARTITION_CACHE_LIMIT = 100_000
METADATA_RETRY = 0.2  # seconds between metadata requests for a topic not (yet) known


class Publisher:
    """Thin wrapper over ``AIOKafkaProducer``; ``send`` returns the delivery future."""

    def __init__(self, kafka: KafkaSettings) -> None:
        compression = None if kafka.compression == "none" else kafka.compression
        self.producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            linger_ms=kafka.linger_ms,
            max_batch_size=kafka.max_batch_bytes,
            max_request_size=MAX_REQUEST_BYTES,
            compression_type=compression,
            request_timeout_ms=int(kafka.request_timeout * 1000),
            **client_kwargs(kafka),
        )
        self.partition_counts: dict[str, int] = {}
        self.unknown_topic_wait = kafka.unknown_topic_wait
        self._key_partition: dict[tuple[str, bytes], int] = {}

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> asyncio.Future[Any]:
        """Queue one record; the returned future resolves when the broker acknowledged it.
        Raises :class:`UnknownTopic` when the cluster does not have ``topic``."""
        await self.still_there(topic)
        await self.partition_count(topic)
        fut: asyncio.Future[Any] = await self.producer.send(
            topic, value=value, key=key, headers=headers
        )
        return fut

    async def send(
        self, topic: str, msg: Message, envelope: Envelope, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        return await self.send_raw(topic, encode(msg), key, envelope.to_headers())

    def batch(self) -> OutBatch:
        return OutBatch(self)

    async def partition_count(self, topic: str) -> int:
        """Partitions of ``topic``, cached; raises :class:`UnknownTopic` when the cluster
        does not report it within ``unknown_topic_wait``."""
        count = self.partition_counts.get(topic)
        if count is None:
            count = self.partition_counts[topic] = await self._partitions(topic)
        return count

    async def still_there(self, topic: str) -> None:
        """Raise :class:`UnknownTopic` when the producer's metadata lost ``topic`` (a
        client's private reply topic, deleted before a late reply) and the cluster does
        not report it again within ``unknown_topic_wait``."""
        if self.producer.client.cluster.partitions_for_topic(topic) is None:
            self.partition_counts.pop(topic, None)
            await self.partition_count(topic)

    async def _partitions(self, topic: str) -> int:
        """Ask the cluster for ``topic``'s partitions, with real pauses between metadata
        requests. aiokafka's own wait (``partitions_for``, and ``send_batch`` before it
        sends) spins without yielding for the whole request timeout when a topic is
        gone, logging an error each turn: the event loop and everything on it stall."""
        client = self.producer.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.unknown_topic_wait
        while True:
            partitions = client.cluster.partitions_for_topic(topic)
            if partitions:
                return len(partitions)
            if loop.time() >= deadline:
                raise UnknownTopic(
                    f"topic {topic!r} does not exist on the cluster "
                    f"(waited {self.unknown_topic_wait}s for it)"
                )
            try:
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await client.add_topic(topic)
                    await client.force_metadata_update()
            except (TimeoutError, KafkaError):
                pass
            await asyncio.sleep(METADATA_RETRY)

    def partition(self, topic: str, key: bytes | None, count: int, sticky: int) -> int:
        """Kafka's default partitioner (murmur2 of the key), cached per key; records
        without a key go to the batch's sticky choice, as the Java client does."""
        if key is None:
            return sticky % count
        cached = self._key_partition.get((topic, key))
        if cached is None:
            if len(self._key_partition) >= PARTITION_CACHE_LIMIT:
                self._key_partition.clear()
            cached = self._key_partition[(topic, key)] = (murmur2(key) & 0x7FFFFFFF) % count
        return cached


Record = tuple[str, bytes, bytes | None, Headers]


class OutBatch:
    """Records produced while handling one window, submitted per partition by ``flush``."""

    def __init__(self, publisher: Publisher) -> None:
        self.publisher = publisher
        self._loop = asyncio.get_running_loop()
        self._open: dict[tuple[str, int], tuple[Any, asyncio.Future[Any]]] = {}
        self._full: list[tuple[tuple[str, int], Any, asyncio.Future[Any]]] = []
        self._later: list[tuple[Record, asyncio.Future[Any]]] = []
        self._sticky = random.randrange(1 << 30)  # noqa: S311 - load spreading, not crypto

    def add(
        self, topic: str, value: bytes, key: bytes | None, headers: Headers
    ) -> asyncio.Future[Any]:
        """Append a record; the future resolves once the broker acknowledged it."""
        if self._later:  # keep the order: once one record waits, the rest wait behind it
            return self._defer((topic, value, key, headers))
        count = self.publisher.partition_counts.get(topic)
        if count is None:  # topic not seen yet: its metadata is fetched by flush()
            return self._defer((topic, value, key, headers))
        tp = (topic, self.publisher.partition(topic, key, count, self._sticky))
        entry = self._open.get(tp)
        if entry is None:
            entry = self._open[tp] = (
                self.publisher.producer.create_batch(),
                self._loop.create_future(),
            )
        builder, pending = entry
        if builder.append(key=key, value=value, timestamp=None, headers=headers) is not None:
            return pending
        if builder.record_count() == 0:  # larger than a whole batch: sent on its own
            return self._defer((topic, value, key, headers))
        self._full.append((tp, *self._open.pop(tp)))
        return self.add(topic, value, key, headers)

    async def flush(self) -> None:
        """Submit everything in the order it was added; the futures resolve as the broker
        acknowledges the records."""
        later, self._later = self._later, []
        if later:
            unknown: dict[str, UnknownTopic] = {}
            for (topic, value, key, headers), future in later:
                if topic not in self.publisher.partition_counts and topic not in unknown:
                    try:
                        await self.publisher.partition_count(topic)
                    except UnknownTopic as e:
                        unknown[topic] = e
                if topic in unknown:  # its record fails; the record's owner dead-letters it
                    future.set_exception(unknown[topic])
                    continue
                delivered = self.add(topic, value, key, headers)
                if self._later:  # it did not fit in a batch: send what precedes it, then it
                    self._later.pop()
                    await self._submit_all()
                    delivered = await self.publisher.send_raw(topic, value, key, headers)
                delivered.add_done_callback(partial(_chain, target=future))
        await self._submit_all()

    async def _submit_all(self) -> None:
        full, self._full = self._full, []
        for tp, builder, pending in full:
            await self._submit(tp, builder, pending)
        for tp in list(self._open):
            await self._submit(tp, *self._open.pop(tp))

    def _defer(self, record: Record) -> asyncio.Future[Any]:
        future = self._loop.create_future()
        self._later.append((record, future))
        return future

    async def _submit(
        self, tp: tuple[str, int], builder: Any, pending: asyncio.Future[Any]
    ) -> None:
        builder.close()  # complete: the sender need not linger for more records
        try:
            await self.publisher.still_there(tp[0])
            delivered = await self.publisher.producer.send_batch(builder, tp[0], partition=tp[1])
        except Exception as e:  # noqa: BLE001 - the records' owners turn it into dead letters
            pending.set_exception(e)
            return
        delivered.add_done_callback(partial(_chain, target=pending))


def _chain(source: asyncio.Future[Any], target: asyncio.Future[Any]) -> None:
    if target.done():
        return
    if source.cancelled():
        target.cancel()
    elif (error := source.exception()) is not None:
        target.set_exception(error)
    else:
        target.set_result(source.result())
