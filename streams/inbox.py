"""An agent's mailbox on its way to the agent loop, with partitions held on their own.

The loop acknowledges records in offset order per partition (:mod:`streams.acks`), so a
partition whose oldest record is still running (a slow key) keeps every record taken after
it uncommitted. The loop then holds that partition once it has taken its share of the
backlog: the partition is left out of the fetch where there is one (see
:mod:`streams.faust_source`), and its records already queued are set aside, in order,
instead of being taken. The other partitions keep flowing; when the partition's head
moves on, it is released and its records set aside come first again.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Generic, Protocol, TypeVar


class _Partitioned(Protocol):
    partition: int


M = TypeVar("M", bound=_Partitioned)


class Inbox(Generic[M]):
    """A ``batching.Source`` of one mailbox's records, with holding per partition.
    Subclasses decide what taking a record means (:meth:`_accept`) and how the loop's
    acknowledgements reach the consumer (``ack``, ``release``)."""

    def __init__(self, low_water: int = 0) -> None:
        self._items: collections.deque[M] = collections.deque()
        self._waiter: asyncio.Future[None] | None = None
        #: held partition -> its records set aside, in offset order
        self._aside: dict[int, collections.deque[M]] = {}
        #: while set, :meth:`_drained` is called once no more than ``low_water`` records
        #: are queued (a consumer paused for a full inbox resumes)
        self.paused: set[Any] = set()
        self._low_water = low_water

    def _put(self, messages: Any) -> None:
        self._items.extend(messages)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- batching.Source ----------------------------------------------------------------
    async def get(self) -> M:
        while True:
            while not self._items:
                self._waiter = asyncio.get_running_loop().create_future()
                try:
                    await self._waiter
                finally:
                    self._waiter = None
            message = self._take()
            if message is not None:
                return message

    def get_nowait(self) -> M:
        while self._items:
            message = self._take()
            if message is not None:
                return message
        raise asyncio.QueueEmpty

    def empty(self) -> bool:
        return not self._items

    def __len__(self) -> int:
        """Records queued, those set aside included."""
        return len(self._items) + sum(map(len, self._aside.values()))

    def _take(self) -> M | None:
        message = self._items.popleft()
        if self.paused and len(self._items) <= self._low_water:
            self._drained()
        if self._aside:
            aside = self._aside.get(message.partition)
            if aside is not None:
                aside.append(message)
                return None
        return self._accept(message)

    def _accept(self, message: M) -> M | None:
        """The record is taken by the loop; None drops it."""
        return message

    def _drained(self) -> None:
        """Down to the low water while ``paused``."""
        self.paused.clear()

    # -- holding (part of loop.Consumer) ------------------------------------------------
    def hold(self, partition: int) -> None:
        """Stop handing out records of ``partition`` until :meth:`unhold`."""
        self._aside.setdefault(partition, collections.deque())

    def unhold(self, partition: int) -> None:
        """Hand out ``partition``'s records again, those set aside first."""
        aside = self._aside.pop(partition, None)
        if aside:
            self._items.extendleft(reversed(aside))
            self._wake()

    @property
    def held(self) -> set[int]:
        return set(self._aside)
