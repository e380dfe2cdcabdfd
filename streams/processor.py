"""Handling of records: decode and dispatch, claim (idempotent agents), run the handler
with retries, and hand results, fan-out and dead letters to :class:`Delivery`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from config import Limits
from schemas import Envelope, EnvelopeError, Message
from streams import logs
from streams.agent import AgentSpec, Route
from streams.codec import parse
from streams.context import BatchContext, Context, successor
from streams.delivery import Delivery
from streams.errors import (
    AgentStreamError,
    DispatchError,
    FatalError,
    HeaderError,
    is_retriable,
    is_transient,
    stage_of,
)
from streams.idempotency import Dedupe
from streams.invoke import invoke
from streams.metrics import Metrics
from streams.records import Inbound
from streams.retrying import retrying
from streams.state import KeyedState
from streams.tracing import Tracing

log = logging.getLogger(__name__)
OUTAGE_LOG_EVERY = 10.0  # seconds between warnings while a dependency is away
Ready = tuple[Inbound, Route, Message]
C = TypeVar("C", Context, BatchContext)


class DuplicateDelivery(AgentStreamError):
    """An idempotent agent saw an event whose earlier handling started but never finished."""


class Processor:
    """The per-record work of one agent."""

    def __init__(
        self,
        spec: AgentSpec,
        delivery: Delivery,
        metrics: Metrics,
        limits: Limits,
        dedupe: Dedupe | None = None,
        state: KeyedState | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.spec = spec
        self.delivery = delivery
        self.limits = limits
        self.dedupe = dedupe if spec.idempotent else None
        self.state = state  # handed to every context (``ctx.state``)
        labels = (spec.name, spec.mailbox)
        self._duration = metrics.handler_duration.labels(*labels)
        self._retries = metrics.retries.labels(*labels)
        self._warned = -OUTAGE_LOG_EVERY
        self.tracing = tracing

    # -- decode, dispatch, claim --------------------------------------------------------
    def prepare(self, record: Inbound) -> Ready | None:
        """Decode and dispatch; a record that cannot be handled becomes a dead letter."""
        try:
            try:
                record.envelope = envelope = Envelope.from_headers(record.headers)
            except EnvelopeError as e:
                raise HeaderError(str(e)) from e
            route = self.spec.routes.get(envelope.type)
            if route is None:
                known = ", ".join(sorted(self.spec.routes))
                raise DispatchError(f"no handler for ce_type {envelope.type!r} (known: {known})")
            limits = self.limits
            msg = parse(route.model, record.value, limits.max_message_bytes, limits.max_json_depth)
        except AgentStreamError as e:
            self._fail(record, e, 0)
            return None
        return record, route, msg

    async def claim(self, ready: list[Ready], starts: list[bool]) -> list[Ready]:
        """Keep the events this agent has not handled before; waits while Redis is
        unavailable. ``starts``: which events start at once (claimed started); the
        others are claimed queued and marked started when their turn comes."""
        if self.dedupe is None or not ready:
            return ready
        dedupe = self.dedupe
        claims = [
            (r.envelope.id if r.envelope else "", dedupe.token(r.partition, r.offset), now)
            for (r, _, _), now in zip(ready, starts, strict=True)
        ]
        states = await retrying(lambda: dedupe.claim(claims), "redis (idempotency keys)", log)
        kept: list[Ready] = []
        for item, state, now in zip(ready, states, starts, strict=True):
            record = item[0]
            if state == "new":
                record.claimed = True
                record.queued = not now
                kept.append(item)
            elif state == "started":
                record.claimed = True  # dropped with the dead letter, so a replay runs it
                err = DuplicateDelivery("handling of this ce_id started before and did not finish")
                self._fail(record, err, 0)
            else:
                self.delivery.finished(record)  # handled before: nothing to do
        return kept

    async def _start(self, record: Inbound) -> bool:
        """An idempotent agent's queued claim is marked started before the handler runs;
        False (and the event is finished with no outcome) when another worker took the
        claim over since it was queued here: that worker handles it."""
        dedupe, envelope = self.dedupe, record.envelope
        if not record.queued or dedupe is None or envelope is None:
            return True
        record.queued = False
        if await dedupe.start(envelope.id, dedupe.token(record.partition, record.offset)):
            return True
        record.claimed = False  # the claim is another worker's now
        log.info(
            "agent %s: event %s was taken over by another worker before it started here",
            self.spec.name, envelope.id,
        )  # fmt: skip
        self.delivery.finished(record)
        return False

    # -- handling -----------------------------------------------------------------------
    async def handle_event(self, item: Ready) -> None:
        """Run the handler of one event and hand over its outcome; never raises but
        :class:`FatalError` (and cancellation)."""
        record, route, msg = item
        envelope = record.envelope
        assert envelope is not None  # noqa: S101 - set by prepare
        if record.queued and not await self._start(record):
            return
        name, state = self.spec.name, self.state
        started = time.perf_counter()
        ctx = Context(name, record, envelope, state)
        try:  # the first attempt inline: most handler calls succeed
            result = await invoke(route.fn(msg, ctx), self.spec.timeout)
        except FatalError:
            raise
        except Exception as error:  # noqa: BLE001 - classed and retried in _retry

            def call() -> tuple[Awaitable[Any], Context]:
                ctx = Context(name, record, envelope, state)
                return route.fn(msg, ctx), ctx

            outcome = await self._retry(call, [record], error, started)
            if outcome is None:
                self.delivery.finished(record)
                return
            result, ctx = outcome
        else:
            self._duration.observe(time.perf_counter() - started)
            record.attempts = 1
        if ctx.sent:
            self.delivery.publish(ctx.sent)
        if result is not None:
            self._reply(record, result)
        self.delivery.finished(record)

    def event_handler(self) -> Callable[[Ready], Awaitable[None]]:
        """:meth:`handle_event`, within the event's span when tracing and with the event
        named on log lines when logging JSON; the plain method otherwise (no cost)."""
        if self.tracing is not None:
            return self._traced
        if logs.event_context_enabled():
            return self._logged
        return self.handle_event

    async def _traced(self, item: Ready) -> None:
        assert self.tracing is not None  # noqa: S101 - chosen only with tracing
        with self.tracing.event(self.spec, item[0]), logs.event_context(self.spec.name, item[0]):
            await self.handle_event(item)

    async def _logged(self, item: Ready) -> None:
        with logs.event_context(self.spec.name, item[0]):
            await self.handle_event(item)

    async def handle_batch(self, ready: list[Ready]) -> None:
        """Run a batch handler over the window's events, one result per event."""
        if any(r.queued for r, _, _ in ready):
            started = await asyncio.gather(*(self._start(r) for r, _, _ in ready))
            ready = [item for item, ok in zip(ready, started, strict=True) if ok]
            if not ready:
                return
        records = [r for r, _, _ in ready]
        if self.tracing is not None:
            with self.tracing.events(self.spec, records):
                await self._handle_batch(records, [m for _, _, m in ready])
        else:
            await self._handle_batch(records, [m for _, _, m in ready])

    async def _handle_batch(self, records: list[Inbound], msgs: list[Message]) -> None:
        fn = self.spec.batch_fn
        assert fn is not None  # noqa: S101 - only called for batch agents
        name, state = self.spec.name, self.state

        def call() -> tuple[Awaitable[Any], BatchContext]:
            ctx = BatchContext(name, records, state)
            return fn(msgs, ctx), ctx

        outcome = await self._attempts(call, records)
        if outcome is not None:
            results, ctx = outcome
            if len(results) != len(records):
                err = AgentStreamError(
                    f"batch handler returned {len(results)} results for {len(records)} messages"
                )
                for record in records:
                    self._fail(record, err, 1)
                return
            if ctx.sent:
                self.delivery.publish(ctx.sent)
            for record, result in zip(records, results, strict=True):
                if result is not None:
                    self._reply(record, result)
        for record in records:
            self.delivery.finished(record)

    async def _attempts(
        self, call: Callable[[], tuple[Awaitable[Any], C]], records: list[Inbound]
    ) -> tuple[Any, C] | None:
        """Run the handler, retrying with backoff while the error is retriable and
        attempts remain; dead-letter the records on the final failure (and return None).
        What a failed attempt sent is discarded."""
        started = time.perf_counter()
        awaitable, ctx = call()
        try:
            result = await invoke(awaitable, self.spec.timeout)
        except FatalError:
            raise
        except Exception as error:  # noqa: BLE001 - classed and retried in _retry
            return await self._retry(call, records, error, started)
        self._duration.observe(time.perf_counter() - started)
        for record in records:
            record.attempts = 1
        return result, ctx

    async def _retry(
        self,
        call: Callable[[], tuple[Awaitable[Any], C]],
        records: list[Inbound],
        error: Exception,
        started: float,
    ) -> tuple[Any, C] | None:
        """Attempt 1 failed with ``error``: go on as the retry policy says (attempts for
        retriable errors, up to ``outage`` seconds for transient ones)."""
        retry = self.spec.retry
        attempt = 1
        while True:
            if retry.outage and is_transient(error):
                give_up = time.perf_counter() - started >= retry.outage
                self._outage_warning(error)
            else:
                give_up = attempt >= retry.attempts or not is_retriable(error)
            if give_up:
                for record in records:
                    record.attempts = attempt
                    self.delivery.dead_letter(record, stage_of(error), error, attempt)
                return None
            self._retries.inc()
            await asyncio.sleep(retry.delay(attempt))
            attempt += 1
            awaitable, ctx = call()
            try:
                result = await invoke(awaitable, self.spec.timeout)
            except FatalError:
                raise
            except Exception as e:  # noqa: BLE001 - every handler failure is classed here
                error = e
            else:
                self._duration.observe(time.perf_counter() - started)
                for record in records:
                    record.attempts = attempt
                return result, ctx

    def _outage_warning(self, error: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= OUTAGE_LOG_EVERY:
            self._warned = now
            log.warning(
                "agent %s: a dependency fails transiently, retrying for up to %.0fs: %r",
                self.spec.name, self.spec.retry.outage, error,
            )  # fmt: skip

    def _reply(self, record: Inbound, result: Message) -> None:
        """Queue a result for the reply topic; one that cannot be encoded is a dead letter."""
        assert record.envelope is not None  # noqa: S101 - set by prepare
        topic = record.envelope.replyto or self.spec.reply_topic
        try:
            rec = successor(self.spec.name, record, topic, result, record.key)
        except Exception as e:  # noqa: BLE001 - e.g. a result pydantic cannot serialize
            self.delivery.dead_letter(record, "produce", e, record.attempts)
            return
        self.delivery.add(record, rec)

    def _fail(self, record: Inbound, error: AgentStreamError, attempts: int) -> None:
        self.delivery.dead_letter(record, error.stage, error, attempts)
        self.delivery.finished(record)


def event_key(item: Ready) -> bytes | None:
    return item[0].key
