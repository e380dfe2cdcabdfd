"""One window of records, start to finish: decode, dispatch, handle in parallel with
retries, publish results and dead-letter failures (``WindowRun.handle``), then wait until
the broker acknowledged every record produced (``WindowRun.settle``). The caller
acknowledges the inputs only after ``settle`` returns, and may handle the next window
while this one settles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from config import Limits
from schemas import Envelope, EnvelopeError, Message
from streams.agent import AgentSpec, Route
from streams.codec import parse
from streams.context import BatchContext, Context, emit
from streams.deadletter import dead_letter_headers
from streams.errors import (
    AgentStreamError,
    DispatchError,
    HeaderError,
    ProduceError,
    Stage,
    is_retriable,
    stage_of,
)
from streams.idempotency import Dedupe
from streams.invoke import invoke
from streams.metrics import Metrics
from streams.ordering import run_keyed
from streams.publisher import Publisher
from streams.records import Inbound

Ready = tuple[Inbound, Route, Message]


class DeliveryFailed(AgentStreamError):
    """A dead letter could not be written: nothing of the window may be committed."""


class DuplicateDelivery(AgentStreamError):
    """An idempotent agent saw an event whose earlier handling started but never finished."""


class WindowProcessor:
    """What an agent needs to handle windows: its spec, the producer, metrics, limits."""

    def __init__(
        self,
        spec: AgentSpec,
        publisher: Publisher,
        metrics: Metrics,
        limits: Limits,
        dedupe: Dedupe | None = None,
    ) -> None:
        self.spec = spec
        self.publisher = publisher
        self.limits = limits
        self.dedupe = dedupe if spec.idempotent else None
        labels = (spec.name, spec.mailbox)
        self.duration = metrics.handler_duration.labels(*labels)
        self.retries = metrics.retries.labels(*labels)
        self.dead = metrics.dead_letters.labels(*labels)
        self.produced = metrics.produced.labels(*labels)
        self.errors = metrics.errors

    async def handle(self, records: list[Inbound]) -> WindowRun:
        """Decode, dispatch and handle a window, and submit everything it produced. The
        records may be acknowledged once ``settle()`` of the returned run has returned."""
        run = WindowRun(self, records)
        await run.handle()
        return run


class WindowRun:
    """One window from decoding to durable outputs."""

    def __init__(self, processor: WindowProcessor, records: list[Inbound]) -> None:
        self.p = processor
        self.spec = processor.spec
        self.records = records
        self.out = processor.publisher.batch()
        self.dead: list[asyncio.Future[Any]] = []
        self.claimed: list[str] = []

    async def handle(self) -> None:
        ready = [r for r in map(self._prepare, self.records) if r is not None]
        if self.p.dedupe is not None:
            ready = await self._claim(ready)
        if self.spec.batch_fn is not None:
            if ready:
                await self._handle_batch(ready)
        else:
            await run_keyed(ready, _key, self._handle_one, self.spec.concurrency)
        await self.out.flush()

    # -- decode and dispatch ------------------------------------------------------------
    def _prepare(self, record: Inbound) -> Ready | None:
        try:
            try:
                record.envelope = envelope = Envelope.from_headers(record.headers)
            except EnvelopeError as e:
                raise HeaderError(str(e)) from e
            route = self.spec.routes.get(envelope.type)
            if route is None:
                known = ", ".join(sorted(self.spec.routes))
                raise DispatchError(f"no handler for ce_type {envelope.type!r} (known: {known})")
            limits = self.p.limits
            msg = parse(route.model, record.value, limits.max_message_bytes, limits.max_json_depth)
        except AgentStreamError as e:
            self._dead_letter(record, e.stage, e, 0)
            return None
        return record, route, msg

    async def _claim(self, ready: list[Ready]) -> list[Ready]:
        assert self.p.dedupe is not None  # noqa: S101 - checked by the caller
        ids = [r.envelope.id for r, _, _ in ready if r.envelope]
        states = await self.p.dedupe.claim(ids)
        kept: list[Ready] = []
        for item, event_id, state in zip(ready, ids, states, strict=True):
            if state == "new":
                kept.append(item)
                self.claimed.append(event_id)
            elif state == "pending":
                err = DuplicateDelivery("handling of this ce_id started before and did not finish")
                self._dead_letter(item[0], "handle", err, 0)
        return kept

    # -- handling -----------------------------------------------------------------------
    async def _handle_one(self, item: Ready) -> None:
        record, route, msg = item
        assert record.envelope is not None  # noqa: S101 - set by _prepare
        ctx = Context(self.spec.name, record, record.envelope, self.out)
        call = partial(route.fn, msg, ctx)
        result = await self._attempt(call, [record])
        if result is not None:
            self._reply(record, result)

    async def _handle_batch(self, ready: list[Ready]) -> None:
        records = [r for r, _, _ in ready]
        msgs = [m for _, _, m in ready]
        ctx = BatchContext(self.spec.name, records, self.out)
        fn = self.spec.batch_fn
        assert fn is not None  # noqa: S101 - only called for batch agents
        results = await self._attempt(partial(fn, msgs, ctx), records)
        if results is None:
            return
        if len(results) != len(records):
            err = AgentStreamError(
                f"batch handler returned {len(results)} results for {len(records)} messages"
            )
            for record in records:
                self._dead_letter(record, "handle", err, 1)
            return
        for record, result in zip(records, results, strict=True):
            if result is not None:
                self._reply(record, result)

    async def _attempt(self, call: Callable[[], Awaitable[Any]], records: list[Inbound]) -> Any:
        """Run the handler, retrying with backoff while the error is retriable and
        attempts remain; dead-letter the records on the final failure (and return None)."""
        retry = self.spec.retry
        started = time.perf_counter()
        attempt = 1
        while True:
            try:
                result = await invoke(call(), self.spec.timeout)
            except Exception as error:  # noqa: BLE001 - every handler failure is classed here
                if attempt >= retry.attempts or not is_retriable(error):
                    for record in records:
                        record.attempts = attempt
                        self._dead_letter(record, stage_of(error), error, attempt)
                    return None
                self.p.retries.inc()
                await asyncio.sleep(retry.delay(attempt))
                attempt += 1
            else:
                self.p.duration.observe(time.perf_counter() - started)
                return result

    def _reply(self, record: Inbound, result: Message) -> None:
        """Queue a result for the reply topic; one that cannot be encoded is a dead letter."""
        assert record.envelope is not None  # noqa: S101 - set by _prepare
        topic = record.envelope.replyto or self.spec.reply_topic
        try:
            emit(self.out, self.spec.name, record, topic, result, record.key)
        except Exception as e:  # noqa: BLE001 - e.g. a result pydantic cannot serialize
            self._dead_letter(record, "produce", e, record.attempts)

    # -- dead letters and delivery ------------------------------------------------------
    def _dead_letter(
        self, record: Inbound, stage: Stage, error: BaseException, attempts: int
    ) -> None:
        self.p.errors.labels(self.spec.name, self.spec.mailbox, stage).inc()
        headers = dead_letter_headers(record, self.spec.name, stage, error, attempts)
        send = self.p.publisher.send_raw(
            self.spec.dead_letter_topic, record.value, record.key, headers
        )
        self.dead.append(asyncio.ensure_future(_resolve(send)))

    async def settle(self) -> None:
        """Wait for every output; a failed output turns its record into a dead letter;
        a failed dead letter fails the window (nothing of it may be committed). Then the
        claimed ids of an idempotent agent are marked done."""
        outputs = {f for r in self.records for f in r.outputs}
        if outputs:
            await asyncio.wait(outputs)
        bad = {f: e for f in outputs if (e := _failure(f)) is not None}
        produced = 0
        for record in self.records:
            produced += len(record.outputs)
            if bad and (failed := [bad[f] for f in record.outputs if f in bad]):
                produced -= len(failed)
                err = ProduceError(f"{len(failed)} output(s) not acknowledged: {failed[0]!r}")
                self._dead_letter(record, "produce", err, record.attempts)
        self.p.produced.inc(produced)
        if self.dead:
            outcomes = await asyncio.gather(*self.dead, return_exceptions=True)
            errors = [e for e in outcomes if isinstance(e, BaseException)]
            self.p.dead.inc(len(outcomes) - len(errors))
            if errors:
                raise DeliveryFailed(
                    f"{len(errors)} dead letter(s) to {self.spec.dead_letter_topic} "
                    f"failed: {errors[0]!r}"
                ) from errors[0]
        if self.p.dedupe is not None and self.claimed:
            await self.p.dedupe.done(self.claimed)


async def _resolve(send: Any) -> Any:
    fut = await send
    return await fut


def _failure(future: asyncio.Future[Any]) -> BaseException | None:
    if future.cancelled():
        return asyncio.CancelledError()
    return future.exception()


def _key(item: Ready) -> bytes | None:
    return item[0].key
