"""The consume loop of one agent.

Intake takes windows from the mailbox's inbox (size/time/eager) and hands their events to
the :class:`~streams.lanes.Lanes` as soon as a worker is free, while earlier windows'
slow calls are still running: windows are the unit of intake, claims and metrics, never
a gate for handling. Batch agents get each window as a list; up to ``concurrency``
windows are handled at once, and a window that shares a key with one still being handled
waits for it, so a key's events are still handled in offset order.

Flow control: intake stops taking while every worker is busy or while ``backlog`` records
are taken and not yet acknowledged; the inbox then fills up and its partitions are paused
(see :mod:`streams.faust_source`), so a slow agent holds bounded memory and never stalls
the others. Within an agent, a partition whose head is stuck (a slow key) is held once it
has taken its share of the backlog (see :mod:`streams.acks`), so it never stalls the
agent's other partitions. On rebalance and shutdown, work in flight gets a bounded time;
what does not finish is abandoned (not committed) and handled again by the partition's
next owner.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from config import Limits
from streams.acks import AckTracker, Consumer
from streams.agent import AgentSpec
from streams.batching import CloseReason, Source, Window, next_window
from streams.delivery import Delivery
from streams.exactly_once import TransactionalDelivery
from streams.idempotency import Dedupe
from streams.lanes import Lanes
from streams.metrics import Metrics
from streams.processor import Processor, Ready, event_key
from streams.publisher import Producer
from streams.records import Inbound
from streams.state import KeyedState
from streams.tracing import Tracing
from streams.transactions import Transactions

log = logging.getLogger(__name__)


class AgentLoop:
    """Intake, parallel handling, delivery and acknowledgement of one agent."""

    def __init__(
        self,
        spec: AgentSpec,
        publisher: Producer,
        metrics: Metrics,
        limits: Limits,
        on_fatal: Callable[[BaseException], None],
        dedupe: Dedupe | None = None,
        state: KeyedState | None = None,
        tracing: Tracing | None = None,
        transactions: Transactions | None = None,
        group: str = "",
    ) -> None:
        self.spec = spec
        self.tracing = tracing
        self.on_fatal = on_fatal
        labels = (spec.name, spec.mailbox)
        self._consumed = metrics.consumed.labels(*labels)
        self._batch_size = metrics.batch_size.labels(*labels)
        self._batch_wait = metrics.batch_wait.labels(*labels)
        self._inflight = metrics.inflight.labels(*labels)
        self._held = metrics.held.labels(*labels)
        self._held_now = 0  # what the gauge says (set only when it changes)
        self.acks = AckTracker(self._acked, spec.backlog, spec.batch.max_size)
        self.delivery = (
            Delivery(spec, publisher, metrics, self.acks, dedupe, self._fail)
            if transactions is None
            else TransactionalDelivery(
                spec, publisher, metrics, self.acks, dedupe, self._fail, transactions, group
            )
        )
        self.processor = Processor(spec, self.delivery, metrics, limits, dedupe, state, tracing)
        self.lanes: Lanes[Ready] = Lanes(
            spec.concurrency, event_key, self.processor.event_handler(), self._fail
        )
        self.closes: collections.Counter[CloseReason] = collections.Counter()
        self._room = asyncio.Event()
        self._admitted = asyncio.Event()
        self._admitted.set()
        self._epoch = 0  # bumped when in-flight work is abandoned
        self._failed: BaseException | None = None
        self._draining = False
        self._task: asyncio.Task[None] | None = None
        self._batches: set[asyncio.Task[None]] = set()  # windows a batch handler is handling
        self._batch_keys: dict[bytes, int] = {}  # their keys, with how many windows have each

    # -- intake -------------------------------------------------------------------------
    async def run(self, source: Source[Any], consumer: Consumer) -> None:
        """Consume ``source`` (faust consumer messages) until :meth:`drain`, taking
        records back through ``consumer``."""
        self.acks.consumer = consumer
        self._task = asyncio.current_task()
        try:
            while not self._draining and self._failed is None:
                await self._wait_room()
                window = await next_window(source, self.spec.batch)
                self._admitted.clear()
                try:
                    if self.tracing is None:
                        await self._admit(window)
                    else:
                        with self.tracing.window(self.spec, window) as span:
                            records = await self._admit(window)
                            self.tracing.link_window(span, records)
                finally:
                    self._admitted.set()
        except asyncio.CancelledError:
            if not self._draining:  # only our own drain() cancels the intake
                raise
        except Exception as exc:  # noqa: BLE001 - logged and fatal in _fail
            self._fail(exc)

    async def _wait_room(self) -> None:
        """Until a worker is free and the backlog is below its limit."""
        while True:
            if self.lanes.saturated:
                await self.lanes.wait_room()
            elif self.acks.pending >= self.spec.backlog:
                self._room.clear()
                await self._room.wait()
            else:
                return

    async def _admit(self, window: Window[Any]) -> list[Inbound]:
        self.closes[window.reason] += 1
        self._batch_wait.observe(window.waited)
        records = [_inbound(m) for m in window.items]
        n = len(records)
        self._consumed.inc(n)
        self._batch_size.observe(n)
        self.acks.register(records)
        self._show_flow()
        epoch = self._epoch
        processor = self.processor
        ready = [r for r in map(processor.prepare, records) if r is not None]
        if processor.dedupe is not None and ready:
            ready = await processor.claim(ready, self._starts(ready))
        if epoch != self._epoch:
            return records  # abandoned while claiming: released, fetched again
        if self.spec.batch_fn is not None:
            if ready:
                await self._start_batch(ready, epoch)
            return records
        self.lanes.submit(ready)
        return records

    def _starts(self, ready: list[Ready]) -> list[bool]:
        """Which events start as soon as a worker is free, not behind an earlier event
        of their key (their idempotency claims are taken as started at once)."""
        if self.spec.batch_fn is None:
            return [not parked for parked in self.lanes.parks(ready)]
        return [self._batch_room(_keys(ready))] * len(ready)

    def _batch_room(self, keys: set[bytes]) -> bool:
        """Fewer than ``concurrency`` windows are being handled, none with one of ``keys``."""
        return len(self._batches) < self.spec.concurrency and keys.isdisjoint(self._batch_keys)

    async def _start_batch(self, ready: list[Ready], epoch: int) -> None:
        """Hand a window to the batch handler once there is room for it (``_batch_room``)."""
        keys = _keys(ready)
        running = self._batches
        while not self._batch_room(keys):
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        if epoch != self._epoch:
            return  # abandoned meanwhile: released, fetched again
        for k in keys:
            self._batch_keys[k] = self._batch_keys.get(k, 0) + 1
        task = asyncio.create_task(self.processor.handle_batch(ready))
        running.add(task)
        task.add_done_callback(partial(self._batch_done, keys))

    def _batch_done(self, keys: set[bytes], task: asyncio.Task[None]) -> None:
        self._batches.discard(task)
        batch_keys = self._batch_keys
        for k in keys:
            n = batch_keys.pop(k, 1) - 1
            if n > 0:
                batch_keys[k] = n
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(exc)

    # -- acknowledgement ----------------------------------------------------------------
    def _acked(self, _: int) -> None:
        if self._show_flow() < self.spec.backlog:
            self._room.set()

    def _show_flow(self) -> int:
        """Update the in-flight and held gauges; the records pending."""
        acks = self.acks
        self._inflight.set(acks.pending)
        if acks.held != self._held_now:
            self._held_now = acks.held
            self._held.set(acks.held)
        return acks.pending

    def _fail(self, exc: BaseException) -> None:
        if self._failed is None:
            self._failed = exc
            log.critical("agent %s stopped: %s", self.spec.name, exc, exc_info=exc)
            self.on_fatal(exc)

    # -- rebalance and shutdown ---------------------------------------------------------
    @property
    def draining(self) -> bool:
        return self._draining

    async def quiesce(self, seconds: float) -> None:
        """A rebalance: give the events taken ``seconds`` to finish and be acknowledged,
        then abandon the rest. (Events not started yet are not dropped at once: every
        finished event behind one of them in its partition could not be committed, and
        would be handled twice.)"""
        finished = await self._finish(asyncio.get_running_loop().time() + seconds)
        abandoned = await self._abandon(cancel=not finished)
        if abandoned:
            log.warning(
                "agent %s: %d events not finished within the revocation budget of %.1fs "
                "are abandoned; the partitions' next owner handles them again",
                self.spec.name, abandoned, seconds,
            )  # fmt: skip

    async def drain(self, seconds: float) -> None:
        """Stop taking events; finish what was taken within ``seconds``, then abandon
        the rest (not committed: handled again after a restart)."""
        self._draining = True
        deadline = asyncio.get_running_loop().time() + seconds
        task = self._task
        if task is not None and not task.done():
            if self._admitted.is_set():
                task.cancel()  # waiting for room or for events: nothing half done
            await asyncio.wait([task], timeout=max(0.0, deadline - task.get_loop().time()))
        finished = await self._finish(deadline)
        abandoned = await self._abandon(cancel=True)
        if not finished:
            log.warning(
                "agent %s: drain ran out of its %.1fs; %d events not committed",
                self.spec.name, seconds, abandoned,
            )  # fmt: skip

    async def _finish(self, deadline: float) -> bool:
        """Until what was taken is handled and settled, or ``deadline``."""
        try:
            async with asyncio.timeout_at(deadline):
                await self._admitted.wait()
                if self._batches:
                    await asyncio.wait(self._batches)
                await self.lanes.wait_idle()
                await self.delivery.wait_idle()
        except TimeoutError:
            return False
        return True

    async def _abandon(self, *, cancel: bool) -> int:
        """Forget every record not acknowledged yet; with ``cancel``, also stop the
        handler calls and deliveries still running."""
        self._epoch += 1
        self.lanes.clear()
        if cancel:
            batches = list(self._batches)
            for task in batches:
                task.cancel()
            await asyncio.gather(*batches, return_exceptions=True)
            await self.lanes.stop()
            self.delivery.cancel()
        return self.acks.abandon()


def _keys(ready: list[Ready]) -> set[bytes]:
    return {k for k in map(event_key, ready) if k is not None}


def _inbound(m: Any) -> Inbound:
    return Inbound(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers or ()), m)
