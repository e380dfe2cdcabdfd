"""Parallel handling across windows: same key strictly in order, different keys never
waiting for each other, at most ``limit`` handler calls in flight.

Events are submitted as they are taken, window after window, and run on a pool of
``limit`` long-lived worker tasks. A key whose previous event still runs parks the next
one in its lane; the lane hands it to the workers when the previous one finishes. So a
slow call holds back only later events of its own key, and a window never waits for its
slowest event.

Every event runs inside a worker task, first step included, so a handler that uses
``asyncio.timeout`` or a ``TaskGroup`` binds them to a task that does nothing else.
Workers wake one another only while runnable events remain, so a window whose handlers
never suspend runs in one task step without waking the whole pool.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lanes(Generic[T]):
    """Keyed, bounded parallelism. ``run`` handles its own errors; one that escapes it
    is a bug and goes to ``on_error``."""

    def __init__(
        self,
        limit: int,
        key: Callable[[T], Hashable | None],
        run: Callable[[T], Awaitable[None]],
        on_error: Callable[[BaseException], None],
    ) -> None:
        if limit < 1:
            raise ValueError("Lanes need a limit >= 1")
        self.limit = limit
        self._key = key
        self._run = run
        self._on_error = on_error
        #: keys with an event running or runnable -> the events of that key behind it
        #: (None until one waits: most keys never have a second event in flight)
        self._lanes: dict[Hashable, collections.deque[T] | None] = {}
        self._ready: collections.deque[T] = collections.deque()
        self._workers: list[asyncio.Task[None]] = []
        self._idle: collections.deque[asyncio.Future[None]] = collections.deque()
        self._waking = 0  # workers woken that have not taken an event yet
        self._running = 0
        self._parked = 0  # events waiting in a lane behind their key
        self._started = False
        self._changed: asyncio.Future[None] | None = None

    # -- submitting ---------------------------------------------------------------------
    def submit(self, items: list[T]) -> None:
        """Queue ``items`` in order; each runs when a worker is free and no earlier event
        of its key is running or waiting."""
        lanes, ready, key = self._lanes, self._ready, self._key
        for item in items:
            k = key(item)
            if k is not None:
                if k in lanes:
                    lane = lanes[k]
                    if lane is None:
                        lane = lanes[k] = collections.deque()
                    lane.append(item)
                    self._parked += 1
                    continue
                lanes[k] = None
            ready.append(item)
        if ready:
            self._wake()

    @property
    def saturated(self) -> bool:
        """True while runnable events wait for a worker (no room for more)."""
        return bool(self._ready)

    @property
    def idle(self) -> bool:
        """Nothing running, runnable or parked."""
        return not (self._running or self._ready or self._parked)

    def parks(self, items: list[T]) -> list[bool]:
        """For each of ``items``, whether it would be parked if submitted now: an earlier
        event of its key runs or waits. The others run as soon as a worker is free (and
        intake takes no more while any waits for one)."""
        lanes, key = self._lanes, self._key
        seen: set[Hashable] = set()
        out = []
        for item in items:
            k = key(item)
            out.append(k is not None and (k in lanes or k in seen))
            if k is not None:
                seen.add(k)
        return out

    async def wait_room(self) -> None:
        """Return once a worker could start another event."""
        while self._ready:
            await self._wait_change()

    async def wait_idle(self) -> None:
        """Return once every submitted event has finished."""
        while not self.idle:
            await self._wait_change()

    def clear(self) -> int:
        """Forget every event not yet running (a rebalance abandons them); returns how many."""
        dropped = len(self._ready) + self._parked
        for item in self._ready:  # a runnable event heads its lane: the lane goes with it
            if (k := self._key(item)) is not None:
                self._lanes.pop(k, None)
        self._ready.clear()
        for lane in self._lanes.values():  # lanes of running events lose what waits behind
            if lane is not None:
                lane.clear()
        self._parked = 0
        self._notify()
        return dropped

    async def stop(self) -> None:
        """Cancel the workers (and the events they run)."""
        for task in self._workers:
            task.cancel()
        if self._workers:
            await asyncio.wait(self._workers)
        self._workers.clear()
        self._idle.clear()
        self._waking = 0
        self._started = False

    # -- workers ------------------------------------------------------------------------
    def _wake(self) -> None:
        if not self._started:
            self._start()
        if self._waking == 0 and self._idle:
            self._waking += 1
            self._idle.popleft().set_result(None)

    def _start(self) -> None:
        self._started = True
        self._workers = [asyncio.create_task(self._worker()) for _ in range(self.limit)]

    async def _worker(self) -> None:
        loop = asyncio.get_running_loop()
        ready, lanes, key, run = self._ready, self._lanes, self._key, self._run
        while True:
            if not ready:
                waiter = loop.create_future()
                self._idle.append(waiter)
                try:
                    await waiter
                except asyncio.CancelledError:
                    if waiter in self._idle:
                        self._idle.remove(waiter)
                    raise
                self._waking -= 1
                continue
            item = ready.popleft()
            if not ready:
                self._notify()  # room for more
            elif self._waking == 0 and self._idle:
                self._wake()  # more runnable events: let another worker take the next
            self._running += 1
            try:
                await run(item)
            except Exception as exc:  # noqa: BLE001 - a bug in the runtime: fatal
                self._on_error(exc)
            finally:
                self._running -= 1
                # The event of key k finished: its lane's next event becomes runnable.
                k = key(item)
                if k is not None and k in lanes:
                    lane = lanes[k]
                    if lane:
                        self._parked -= 1
                        ready.append(lane.popleft())
                    else:
                        del lanes[k]
                if not (self._running or ready or self._parked):
                    self._notify()

    # -- waiting for changes ------------------------------------------------------------
    async def _wait_change(self) -> None:
        if self._changed is None:
            self._changed = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._changed)

    def _notify(self) -> None:
        changed, self._changed = self._changed, None
        if changed is not None and not changed.done():
            changed.set_result(None)
