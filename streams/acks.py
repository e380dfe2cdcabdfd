"""Acknowledgement in offset order per partition, never past an unfinished record.

faust commits, per partition, the end of the first run of consecutive acknowledged
offsets; an acknowledgement that skips an unfinished offset would let it commit past that
record (faust-streaming#606). Events of different keys finish in any order, so a record
is acknowledged only when it and every record before it in its partition are done.

A partition whose oldest record is still running (a slow key) keeps every record taken
after it here, handled or not. So each partition may hold its share of the backlog: one
that reaches it is held (no more of its records are taken, see :mod:`streams.inbox`)
until it is down to half of it, and the other partitions keep the rest of the backlog.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any, Protocol, cast

from streams.records import Inbound


class PartitionQueue:
    """One partition's records taken and not yet acknowledged, in offset order."""

    __slots__ = ("held", "number", "records")

    def __init__(self, number: int) -> None:
        self.number = number
        self.records: collections.deque[Inbound] = collections.deque()
        self.held = False


class Consumer(Protocol):
    """Takes back the records an agent took: ``ack`` once a record and everything it
    produced are durable (its offset may be committed), ``release`` for one abandoned
    (not committed: handled again later); ``hold`` a partition (hand out none of its
    records) until ``unhold``; ``partitions``: how many of the mailbox's partitions it
    reads now. The mailbox's inbox: faust's consumer in a worker
    (:class:`streams.faust_source.Inbox`), memory in :mod:`streams.testing`."""

    def ack(self, message: Any) -> None: ...

    def release(self, message: Any) -> None: ...

    def hold(self, partition: int) -> None: ...

    def unhold(self, partition: int) -> None: ...

    @property
    def partitions(self) -> int: ...


class AckTracker:
    """Records taken from one mailbox (one topic) and not yet acknowledged, in offset
    order per partition, acknowledged through ``consumer``. ``pending`` is their count:
    the agent's backlog, at most ``backlog``; a partition holding ``share`` of them is
    held."""

    def __init__(self, on_acked: Callable[[int], None], backlog: int, least_share: int) -> None:
        self.consumer: Consumer | None = None  # set before the first record is registered
        self._on_acked = on_acked
        self._backlog = backlog
        self._least_share = least_share
        self._partitions: dict[int, PartitionQueue] = {}
        self.pending = 0
        self.held = 0  # partitions held

    @property
    def share(self) -> int:
        """Records one partition may hold: the backlog split between the partitions read,
        but never less than ``least_share`` (a window)."""
        assert self.consumer is not None  # noqa: S101 - set by the loop
        n = max(self.consumer.partitions, len(self._partitions), 1)
        return max(self._backlog // n, self._least_share)

    def register(self, records: Iterable[Inbound]) -> None:
        """Records in the order they were taken (offset order within a partition)."""
        partitions = self._partitions
        n = 0
        part: PartitionQueue | None = None  # a window's records mostly come from one partition
        for record in records:
            if part is None or record.partition != part.number:
                if part is not None:
                    self._check(part)
                part = partitions.get(record.partition)
                if part is None:
                    part = partitions[record.partition] = PartitionQueue(record.partition)
            part.records.append(record)
            record.track = part
            n += 1
        if part is not None:
            self._check(part)
        self.pending += n

    def _check(self, part: PartitionQueue) -> None:
        n = len(part.records)
        if not part.held and n >= self._least_share and n >= self.share:
            part.held = True
            self.held += 1
            cast(Consumer, self.consumer).hold(part.number)

    def done(self, records: Iterable[Inbound]) -> None:
        """These records and everything they produced are durable: acknowledge every
        record at the head of a partition that is done."""
        consumer = cast(Consumer, self.consumer)
        acked = 0
        for record in records:
            record.done = True
            part: PartitionQueue = record.track  # type: ignore[assignment] # set by register
            queue = part.records
            while queue and queue[0].done:
                consumer.ack(queue.popleft().source)
                acked += 1
            if part.held and len(queue) <= self.share // 2:
                part.held = False
                self.held -= 1
                consumer.unhold(part.number)
        if acked:
            self.pending -= acked
            self._on_acked(acked)

    def holding(self, partition: int) -> int:
        """Records of ``partition`` taken and not yet acknowledged."""
        part = self._partitions.get(partition)
        return len(part.records) if part is not None else 0

    def abandon(self) -> int:
        """Forget every record not yet acknowledged (a rebalance or a deadline gave up on
        them): they are never acknowledged, so the next owner of their partitions
        handles them again. Held partitions are let go. Returns how many."""
        consumer = self.consumer
        dropped = 0
        for part in self._partitions.values():
            assert consumer is not None  # noqa: S101 - records were registered
            for record in part.records:
                consumer.release(record.source)
            dropped += len(part.records)
            part.records.clear()  # records still in flight point at it: their done() acks nothing
            if part.held:
                part.held = False
                consumer.unhold(part.number)
        self._partitions.clear()
        self.pending = 0
        self.held = 0
        self._on_acked(0)
        return dropped
