"""Acknowledgement in offset order per partition, never past an unfinished record.

faust commits, per partition, the end of the first run of consecutive acknowledged
offsets; an acknowledgement that skips an unfinished offset would let it commit past that
record (faust-streaming#606). Events of different keys finish in any order, so a record
is acknowledged only when it and every record before it in its partition are done.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any

from streams.records import Inbound


class AckTracker:
    """Records taken from one mailbox (one topic) and not yet acknowledged, in offset
    order per partition. ``pending`` is their count: the agent's backlog."""

    def __init__(
        self,
        ack: Callable[[Any], None],
        release: Callable[[Any], None],
        on_acked: Callable[[int], None],
    ) -> None:
        self._ack = ack
        self._release = release
        self._on_acked = on_acked
        self._queues: dict[int, collections.deque[Inbound]] = {}
        self.pending = 0

    def register(self, records: Iterable[Inbound]) -> None:
        """Records in the order they were taken (offset order within a partition)."""
        queues = self._queues
        n = 0
        partition, queue = -1, None  # a window's records mostly come from one partition
        for record in records:
            if record.partition != partition or queue is None:
                partition = record.partition
                queue = queues.get(partition)
                if queue is None:
                    queue = queues[partition] = collections.deque()
            queue.append(record)
            record.track = queue
            n += 1
        self.pending += n

    def done(self, records: Iterable[Inbound]) -> None:
        """These records and everything they produced are durable: acknowledge every
        record at the head of a partition that is done."""
        acked = 0
        for record in records:
            record.done = True
            queue = record.track
            while queue and queue[0].done:
                self._ack(queue.popleft().source)
                acked += 1
        if acked:
            self.pending -= acked
            self._on_acked(acked)

    def abandon(self) -> int:
        """Forget every record not yet acknowledged (a rebalance or a deadline gave up on
        them): they are never acknowledged, so the next owner of their partitions
        handles them again. Returns how many."""
        dropped = 0
        for queue in self._queues.values():
            for record in queue:
                self._release(record.source)
            dropped += len(queue)
            queue.clear()  # records still in flight point at it: their done() acks nothing
        self._queues.clear()
        self.pending = 0
        self._on_acked(0)
        return dropped
