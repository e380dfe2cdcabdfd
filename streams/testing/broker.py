"""Topics in memory: what agents read and publish when an app runs in a test.

:class:`MemoryBroker` keeps every record of every topic, partitioned by key as Kafka's
default partitioner does, with offsets per partition; records appended to a topic are
handed to its subscribers at once. :class:`MemoryPublisher` is the
:class:`~streams.publisher.Producer` agent loops publish through (a record is durable as
soon as it is appended), and :class:`Inbox` is one agent's mailbox: the
:class:`~streams.batching.Source` its loop takes windows from and the
:class:`~streams.loop.Consumer` it acknowledges through.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.partitioner import murmur2

from schemas import Headers
from streams.inbox import Inbox as BaseInbox


@dataclass(slots=True, eq=False)
class Record:
    """One record of a topic, as a consumer would read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers = field(default_factory=list)

    def header(self, name: str) -> bytes | None:
        """The last header called ``name``, if any."""
        found = [v for k, v in self.headers if k == name]
        return found[-1] if found else None


Subscriber = Callable[[Record], None]


class MemoryBroker:
    """Every topic's records, in the order they were appended. A topic exists once
    something is appended to it or someone subscribes to it."""

    def __init__(self, partitions: int = 1) -> None:
        if partitions < 1:
            raise ValueError("a topic needs at least one partition")
        self.partitions = partitions
        self._topics: dict[str, list[Record]] = collections.defaultdict(list)
        self._offsets: collections.Counter[tuple[str, int]] = collections.Counter()
        self._subscribers: dict[str, list[Subscriber]] = collections.defaultdict(list)

    def append(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> Record:
        """Store a record and hand it to the topic's subscribers."""
        partition = self.partition(key)
        offset = self._offsets[topic, partition]
        self._offsets[topic, partition] = offset + 1
        record = Record(topic, partition, offset, key, value, list(headers))
        self._topics[topic].append(record)
        for subscriber in self._subscribers.get(topic, ()):
            subscriber(record)
        return record

    def partition(self, key: bytes | None) -> int:
        """Kafka's default for a keyed record (murmur2 of the key); 0 without a key."""
        if key is None:
            return 0
        return int(murmur2(key) & 0x7FFFFFFF) % self.partitions

    def subscribe(self, topic: str, subscriber: Subscriber) -> None:
        """Hand ``subscriber`` each record appended to ``topic`` from now on."""
        self._subscribers[topic].append(subscriber)

    def records(self, topic: str) -> list[Record]:
        return list(self._topics.get(topic, ()))

    def topics(self) -> list[str]:
        return sorted(self._topics)


class MemoryPublisher:
    """A :class:`~streams.publisher.Producer` that appends to a :class:`MemoryBroker`.
    Records sent one by one are appended when ``send_raw`` is called, records of a batch
    when it is flushed, as the broker would have them once acknowledged."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker

    def batch(self) -> MemoryBatch:
        return MemoryBatch(self.broker)

    def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> Awaitable[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        delivered: asyncio.Future[Any] = loop.create_future()
        delivered.set_result(self.broker.append(topic, value, key, headers))
        queued: asyncio.Future[asyncio.Future[Any]] = loop.create_future()
        queued.set_result(delivered)
        return queued

    def deleted(self, topic: str) -> bool:
        return False


class MemoryBatch:
    """An :class:`~streams.publisher.Output` whose records reach the broker at ``flush``."""

    def __init__(self, broker: MemoryBroker) -> None:
        self.broker = broker
        self._records: list[tuple[tuple[str, bytes, bytes | None, Headers], Any]] = []

    def add(
        self, topic: str, value: bytes, key: bytes | None, headers: Headers
    ) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._records.append(((topic, value, key, headers), future))
        return future

    async def flush(self) -> None:
        records, self._records = self._records, []
        for (topic, value, key, headers), future in records:
            record = self.broker.append(topic, value, key, headers)
            if not future.done():
                future.set_result(record)


class Inbox(BaseInbox[Record]):
    """The records of one agent's mailbox on their way to its loop, and their fate:
    ``taken`` by the loop, then ``settled`` (acknowledged or released). ``cut`` closes
    the window the loop is gathering, as if its time were up."""

    def __init__(self, partitions: int = 1) -> None:
        super().__init__()
        self.partitions = partitions  # the mailbox's, all read by its one loop
        self.taken = 0
        self.acked = 0
        self.released = 0

    def put(self, record: Record) -> None:
        self._put((record,))

    def _accept(self, message: Record) -> Record:
        self.taken += 1
        return message

    # -- loop.Consumer ------------------------------------------------------------------
    def ack(self, message: Any) -> None:
        self.acked += 1

    def release(self, message: Any) -> None:
        self.released += 1

    # -- windows ------------------------------------------------------------------------
    @property
    def settled(self) -> int:
        return self.acked + self.released

    @property
    def waiting(self) -> bool:
        """The loop waits for the next record."""
        return self._waiter is not None and not self._waiter.done()

    def cut(self) -> None:
        """End the loop's wait for more records of an open window: the window closes
        as it does when its ``within`` runs out. Only for a loop inside a window (the
        first record of the next window is awaited without a deadline)."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(TimeoutError("window cut by the test"))
