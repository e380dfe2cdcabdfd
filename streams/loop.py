"""The consume loop of one agent: take a window from the inbox, handle it, and while its
outputs are on their way to the broker, go on with the next window. A window's events are
acknowledged (so faust may commit them, gap-aware, never past an unacknowledged offset)
only after its outputs are durable and every earlier window was acknowledged."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any

from streams.batching import CloseReason, Source, next_window
from streams.faust_source import acknowledge
from streams.metrics import Metrics
from streams.processor import WindowProcessor, WindowRun
from streams.records import Inbound

log = logging.getLogger(__name__)

#: Windows whose outputs may be awaiting the broker while the next one is handled.
SETTLING_WINDOWS = 2


class AgentLoop:
    """Handles windows one after another and settles them in the background, in order."""

    def __init__(
        self,
        processor: WindowProcessor,
        metrics: Metrics,
        on_fatal: Callable[[BaseException], None],
    ) -> None:
        self.processor = processor
        self.on_fatal = on_fatal
        self.spec = processor.spec
        labels = (self.spec.name, self.spec.mailbox)
        self._consumed = metrics.consumed.labels(*labels)
        self._batch_size = metrics.batch_size.labels(*labels)
        self._batch_wait = metrics.batch_wait.labels(*labels)
        self._inflight = metrics.inflight.labels(*labels)
        self.closes: collections.Counter[CloseReason] = collections.Counter()
        self._settling: collections.deque[asyncio.Task[None]] = collections.deque()
        self._failed: BaseException | None = None
        self._draining = False
        self._busy = False
        self._task: asyncio.Task[None] | None = None
        self._app: Any = None

    async def run(self, source: Source[Any], app: Any) -> None:
        """Consume ``source`` (faust consumer messages) until :meth:`drain`."""
        self._app = app
        self._task = asyncio.current_task()
        try:
            await self._consume(source)
        except asyncio.CancelledError:
            if not self._draining:  # only our own drain() cancels an idle loop
                raise

    async def _consume(self, source: Source[Any]) -> None:
        while not self._draining and self._failed is None:
            window = await next_window(source, self.spec.batch)
            self._busy = True
            try:
                await self._handle(window.items)
            except Exception as exc:  # noqa: BLE001 - logged and fatal in _fail
                # The window's records stay unacknowledged, so nothing of it is committed;
                # the worker stops and a restart handles them again.
                self._fail(exc)
                return
            finally:
                self._busy = False
            self.closes[window.reason] += 1
            self._batch_wait.observe(window.waited)

    async def _handle(self, messages: list[Any]) -> None:
        while len(self._settling) >= SETTLING_WINDOWS:
            await asyncio.wait([self._settling[0]])
        records = [_inbound(m) for m in messages]
        n = len(records)
        self._consumed.inc(n)
        self._batch_size.observe(n)
        self._inflight.inc(n)
        try:
            run = await self.processor.handle(records)
        except BaseException:
            self._inflight.dec(n)
            raise
        before = self._settling[-1] if self._settling else None
        task = asyncio.create_task(self._settle(run, messages, before))
        self._settling.append(task)
        task.add_done_callback(self._settled)

    async def _settle(
        self, run: WindowRun, messages: list[Any], before: asyncio.Task[None] | None
    ) -> None:
        try:
            await run.settle()
            if before is not None:
                await before  # acknowledge in window order; raises if an earlier one failed
            for message in messages:
                acknowledge(self._app, message)
        finally:
            self._inflight.dec(len(messages))

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.remove(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if self._failed is None:
            self._failed = exc
            log.critical("agent %s stopped: %s", self.spec.name, exc, exc_info=exc)
            self.on_fatal(exc)

    @property
    def draining(self) -> bool:
        return self._draining

    async def drain(self) -> None:
        """Stop taking windows; let the one in progress finish, then wait until every
        window taken is published and acknowledged."""
        self._draining = True
        task = self._task
        if task is not None and not task.done():
            if not self._busy:
                task.cancel()
            await asyncio.wait([task])
        if self._settling:
            await asyncio.wait(list(self._settling))


def _inbound(m: Any) -> Inbound:
    return Inbound(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers or ()), m)
