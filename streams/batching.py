"""Size- and time-windowed batches pulled from an asyncio queue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from streams.policy import Batch

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
CloseReason = Literal["size", "time", "eager"]


class Source(Protocol[T_co]):
    """What a window reads from: an ``asyncio.Queue`` or anything shaped like one."""

    async def get(self) -> T_co: ...
    def get_nowait(self) -> T_co: ...
    def empty(self) -> bool: ...


@dataclass(slots=True)
class Window(Generic[T]):
    items: list[T]
    reason: CloseReason
    opened_at: float = field(default_factory=time.monotonic)

    @property
    def waited(self) -> float:
        """Seconds between the first event arriving and the window closing."""
        return time.monotonic() - self.opened_at


async def next_window(source: Source[T], policy: Batch) -> Window[T]:
    """Wait for one event, then gather more until the policy closes the window."""
    items = [await source.get()]
    opened = time.monotonic()
    deadline = opened + policy.within
    while len(items) < policy.max_size:
        try:
            items.append(source.get_nowait())
            continue
        except asyncio.QueueEmpty:
            pass
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Window(items, "time", opened)
        if policy.eager:
            await asyncio.sleep(0)  # let a fetch that already landed reach the queue
            if source.empty():
                return Window(items, "eager", opened)
            continue
        try:
            items.append(await asyncio.wait_for(source.get(), remaining))
        except TimeoutError:
            return Window(items, "time", opened)
    return Window(items, "size", opened)
