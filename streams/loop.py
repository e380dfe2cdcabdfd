"""The consume loop of one agent: take a window from the faust channel queue, process
it, then acknowledge its events so faust may commit them (gap-aware, never past an
unacknowledged offset)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from typing import Any

from streams.batching import CloseReason, Source, next_window
from streams.faust_source import acknowledge
from streams.metrics import Metrics
from streams.processor import WindowProcessor
from streams.records import Inbound

log = logging.getLogger(__name__)


class AgentLoop:
    """Runs windows one after another until drained."""

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
        while not self._draining:
            window = await next_window(source, self.spec.batch)
            self._busy = True
            try:
                await self._run_window(window.items)
            except Exception as exc:
                # The window's records stay unacknowledged, so nothing of it is committed;
                # the worker stops and a restart handles them again.
                log.critical("agent %s stopped: %s", self.spec.name, exc, exc_info=exc)
                self.on_fatal(exc)
                return
            finally:
                self._busy = False
            self.closes[window.reason] += 1
            self._batch_wait.observe(window.waited)

    async def _run_window(self, messages: list[Any]) -> None:
        records = [_inbound(m) for m in messages]
        n = len(records)
        self._consumed.inc(n)
        self._batch_size.observe(n)
        self._inflight.inc(n)
        try:
            await self.processor.process(records)
        finally:
            self._inflight.dec(n)
        for message in messages:
            acknowledge(self._app, message)

    async def drain(self) -> None:
        """Stop taking windows; let the one in progress finish, publish and acknowledge."""
        self._draining = True
        task = self._task
        if task is not None and not task.done():
            if not self._busy:
                task.cancel()
            await asyncio.wait([task])


def _inbound(m: Any) -> Inbound:
    return Inbound(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers or ()), m)
