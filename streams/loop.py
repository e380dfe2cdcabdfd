"""The consume loop of one agent: take a window from the faust channel queue, process
it, then acknowledge its events so faust may commit them (gap-aware, never past an
unacknowledged offset)."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from streams.batching import CloseReason, Source, next_window
from streams.faust_source import acknowledge
from streams.metrics import Metrics
from streams.processor import Pending, WindowProcessor
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
        self._settling: asyncio.Future[None] | None = None
        self._failed = False

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
        # Two windows overlap: while the broker acknowledges the outputs of one (settling
        # in the background), the next is handled. Windows are acknowledged strictly in
        # order, so offsets are committed in order per partition; and settling never waits
        # for this loop, so a rebalance's wait for acknowledgements cannot deadlock.
        while not self._draining:
            window = await next_window(source, self.spec.batch)
            self._busy = True
            try:
                handled = await self._start(window.items)
                if self._settling is not None:
                    await self._settling
                self._settling = asyncio.ensure_future(self._finish(handled))
                self._settling.add_done_callback(self._settled)
            except Exception as exc:  # noqa: BLE001 - any failure stops the agent loudly
                self._fail(exc)
                return
            finally:
                self._busy = False
            self.closes[window.reason] += 1
            self._batch_wait.observe(window.waited)

    def _settled(self, task: asyncio.Future[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        # The window's records stay unacknowledged, so nothing of it is committed; the
        # worker stops and a restart handles them again.
        if not self._failed:
            self._failed = True
            log.critical("agent %s stopped: %s", self.spec.name, exc, exc_info=exc)
            self.on_fatal(exc)

    async def _start(self, messages: list[Any]) -> _Handled:
        records = [_inbound(m) for m in messages]
        n = len(records)
        self._consumed.inc(n)
        self._batch_size.observe(n)
        self._inflight.inc(n)
        return _Handled(messages, await self.processor.handle(records))

    async def _finish(self, handled: _Handled) -> None:
        try:
            await self.processor.settle(handled.pending)
        finally:
            self._inflight.dec(len(handled.messages))
        for message in handled.messages:
            acknowledge(self._app, message)

    async def drain(self) -> None:
        """Stop taking windows; let the one in progress finish, publish and acknowledge."""
        self._draining = True
        task = self._task
        if task is not None and not task.done():
            if not self._busy:
                task.cancel()
            await asyncio.wait([task])
        if self._settling is not None:
            await asyncio.wait([self._settling])


@dataclass(slots=True)
class _Handled:
    messages: list[Any]
    pending: Pending


def _inbound(m: Any) -> Inbound:
    return Inbound(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers or ()), m)
