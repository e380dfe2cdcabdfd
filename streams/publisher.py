"""The one producer of a worker or client: acks=all, idempotent, futures per record.

Results and fan-out of a window go through an :class:`OutBatch`: records are appended to
one aiokafka ``BatchBuilder`` per partition and submitted together, which costs a fraction
of ``AIOKafkaProducer.send`` per record.

A topic can vanish while records to it are queued: a client deletes its private reply
topic when it stops, and a slow agent may answer after that. aiokafka then asks for
metadata again and again, without pause, until its request timeout (40 s by default)
expires the records, and the event that produced them stays unacknowledged that long.
The publisher watches the producer's metadata updates instead and fails such records at
once, with the topic's name, so they become dead letters within moments.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from functools import partial
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.partitioner import murmur2
from aiokafka.protocol.metadata import MetadataRequest

from config import KafkaSettings
from schemas import Envelope, Headers, Message
from streams.codec import encode
from streams.connection import client_kwargs, start_client
from streams.errors import UnknownTopic

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # dead letters carry oversized inputs byte for byte
PARTITION_CACHE_LIMIT = 100_000
METADATA_RETRY = 0.2  # seconds between metadata requests for a topic not (yet) known
METADATA_ANSWER = 1.0  # seconds one metadata request may take when there is no time left
DELETED_LIMIT = 10_000  # topics remembered as deleted (client reply topics, one per client)


class Output(Protocol):
    """An open batch of output records: :class:`OutBatch` on Kafka."""

    def add(
        self, topic: str, value: bytes, key: bytes | None, headers: Headers
    ) -> asyncio.Future[Any]: ...

    async def flush(self) -> None: ...


class Producer(Protocol):
    """What agent loops publish through: :class:`Publisher` on Kafka, an in-memory one in
    :mod:`streams.testing`. ``send_raw`` queues one record and gives the future that
    resolves once it is durable; ``deleted`` says whether a topic vanished meanwhile."""

    def batch(self) -> Output: ...

    def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> Awaitable[asyncio.Future[Any]]: ...

    def deleted(self, topic: str) -> bool: ...


class Publisher:
    """Thin wrapper over ``AIOKafkaProducer``; ``send`` returns the delivery future."""

    def __init__(self, kafka: KafkaSettings) -> None:
        self.kafka = kafka
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
        self._deleted: set[str] = set()

    async def start(self) -> None:
        """Start the producer; refused credentials or TLS are a :class:`ConfigurationError`
        that says so (:func:`streams.connection.start_client`)."""
        try:
            await start_client(self.producer, self.kafka)
        except BaseException:
            await self.producer.stop()  # else it is left unclosed (a warning at exit)
            raise
        self.producer.client.cluster.add_listener(self._on_metadata)

    async def stop(self) -> None:
        self.producer.client.cluster.remove_listener(self._on_metadata)
        await self.producer.stop()

    def _on_metadata(self, cluster: Any) -> None:
        """After each metadata update: fail the queued records of topics the cluster no
        longer reports. Every topic with queued records was in the metadata when they
        were submitted (``partition_count``) and is asked for in every update, so its
        absence is the broker's answer "unknown topic". Costs nothing per record; the
        check runs once per metadata update over the partitions with queued batches."""
        # aiokafka's private parts used here are named in tests/unit/test_publisher.py
        queued = self.producer._message_accumulator._batches
        gone = {tp.topic for tp in queued if cluster.partitions_for_topic(tp.topic) is None}
        if gone:
            self.forget(gone)
            if len(self._deleted) >= DELETED_LIMIT:
                self._deleted.clear()
            self._deleted |= gone
            for tp in [tp for tp in queued if tp.topic in gone]:
                self._fail_queued(tp)

    def _fail_queued(self, tp: Any) -> None:
        """Fail every batch aiokafka holds for ``tp``, taken out the way its sender takes
        them (``_pop_batch`` keeps its in-flight bookkeeping consistent)."""
        accumulator = self.producer._message_accumulator
        while tp in accumulator._batches:  # the key goes with its last batch
            batch = accumulator._pop_batch(tp)
            batch.failure(
                exception=UnknownTopic(
                    f"topic {tp.topic!r} does not exist on the cluster any more "
                    "(deleted while records to it were queued)"
                )
            )

    def forget(self, topics: set[str]) -> None:
        """Drop what is cached about ``topics`` and stop asking the cluster about them:
        aiokafka otherwise keeps them in every metadata request, and logs an error for
        each one at every refresh. A record sent to one of them later looks it up anew."""
        for topic in topics:
            self.partition_counts.pop(topic, None)
        self._key_partition = {
            tk: p for tk, p in self._key_partition.items() if tk[0] not in topics
        }
        client = self.producer.client
        client.set_topics(client._topics - topics)  # no public reader

    async def send_raw(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Headers,
        via: AIOKafkaProducer | None = None,
    ) -> asyncio.Future[Any]:
        """Queue one record (through ``via``, a transactional producer, when given); the
        returned future resolves when the broker acknowledged it. Raises
        :class:`UnknownTopic` when the cluster does not have ``topic``."""
        await self.still_there(topic)
        await self.partition_count(topic)
        fut: asyncio.Future[Any] = await (via or self.producer).send(
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
        does not report it within ``unknown_topic_wait`` (at once for a topic seen
        deleted: no one waits for a deleted reply topic to come back)."""
        count = self.partition_counts.get(topic)
        if count is None:
            wait = 0.0 if topic in self._deleted else self.unknown_topic_wait
            count = self.partition_counts[topic] = await self._partitions(topic, wait)
            self._deleted.discard(topic)
        return count

    def deleted(self, topic: str) -> bool:
        """Whether ``topic`` vanished from the cluster while records to it were queued
        (and has not been seen since)."""
        return topic in self._deleted

    async def still_there(self, topic: str) -> None:
        """Raise :class:`UnknownTopic` when the producer's metadata lost ``topic`` (a
        client's private reply topic, deleted before a late reply) and the cluster does
        not report it again within ``unknown_topic_wait``."""
        if self.producer.client.cluster.partitions_for_topic(topic) is None:
            self.partition_counts.pop(topic, None)
            await self.partition_count(topic)

    async def _partitions(self, topic: str, wait: float) -> int:
        """Ask the cluster for ``topic``'s partitions, with real pauses between metadata
        requests. aiokafka's own wait (``partitions_for``, and ``send_batch`` before it
        sends) spins without yielding for the whole request timeout when a topic is
        gone, logging an error each turn: the event loop and everything on it stall."""
        client = self.producer.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        asked = False
        while True:
            partitions = client.cluster.partitions_for_topic(topic)
            if partitions:
                return len(partitions)
            if asked and loop.time() >= deadline:
                self.forget({topic})
                raise UnknownTopic(
                    f"topic {topic!r} does not exist on the cluster (waited {wait}s for it)"
                )
            try:
                async with asyncio.timeout(max(METADATA_ANSWER, deadline - loop.time())):
                    if await self._on_cluster(topic):
                        await client.add_topic(topic)
                        await client.force_metadata_update()
            except (TimeoutError, KafkaError):
                pass
            asked = True
            if loop.time() < deadline:
                await asyncio.sleep(METADATA_RETRY)

    async def _on_cluster(self, topic: str) -> bool:
        """Whether the cluster has ``topic``, asked in a metadata request of its own. The
        producer tracks a topic only once it exists: aiokafka logs an error for each
        tracked topic missing from a metadata answer, so a topic that a sender waits
        for (a mailbox its workers have not created yet) would log one every turn."""
        client = self.producer.client
        node = client.get_random_node()
        if node is None:
            return False
        response = await client.send(node, MetadataRequest([topic]))
        return any(
            name == topic and error_code == 0 and partitions
            for error_code, name, *_, partitions in response.topics
        )

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
    """Records produced while handling one window, submitted per partition by ``flush``
    through the publisher's producer, or through ``producer`` (an exactly-once agent's
    transactional one; partition counts and metadata still come from the publisher)."""

    def __init__(self, publisher: Publisher, producer: AIOKafkaProducer | None = None) -> None:
        self.publisher = publisher
        self.producer = producer or publisher.producer
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
                self.producer.create_batch(),
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
                    delivered = await self.publisher.send_raw(
                        topic, value, key, headers, self.producer
                    )
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
            delivered = await self.producer.send_batch(builder, tp[0], partition=tp[1])
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
