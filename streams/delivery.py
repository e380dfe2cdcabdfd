"""From handled events to acknowledged inputs.

A handled event's results and fan-out join the agent's open output batch; dead letters go
out at once. Events that finish in the same loop step share one batch, submitted at the
end of that step (a window whose handlers never suspend is one batch; slow events go out
as they finish, without waiting for the rest of their window). Once the broker
acknowledged everything a batch's events produced, the events are done and the
:class:`~streams.acks.AckTracker` acknowledges them in offset order. Nothing of an output
is kept once it is in a batch: objects that outlive a few windows make every garbage
collection slower (measured: a fifth of the throughput).

A failed output turns its event into a dead letter; a failed dead letter is fatal, and
nothing of that event is ever acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from schemas import Failed
from streams.acks import AckTracker
from streams.agent import AgentSpec
from streams.codec import encode
from streams.context import Sent
from streams.deadletter import dead_letter_headers, dead_letter_value
from streams.errors import AgentStreamError, ProduceError, Stage
from streams.idempotency import Dedupe
from streams.metrics import Metrics
from streams.publisher import Producer, Record
from streams.records import Inbound
from streams.retrying import retrying

log = logging.getLogger(__name__)

#: Output batches submitted and not yet acknowledged, per agent. Events handled meanwhile
#: wait in the open batch, so under load batches grow instead of multiplying (fewer,
#: larger produce requests; measured: a third more throughput than no limit).
SETTLING_BATCHES = 2
#: ... but no longer than this: a batch that cannot settle (a record to a topic deleted
#: meanwhile waits for the producer's request timeout) must not hold every later output.
MAX_HOLD = 0.25


class DeliveryFailed(AgentStreamError):
    """A dead letter could not be written: nothing of its event may be committed."""


class Delivery:
    """The open output batch of one agent, and the settling of submitted ones."""

    def __init__(
        self,
        spec: AgentSpec,
        publisher: Producer,
        metrics: Metrics,
        acks: AckTracker,
        dedupe: Dedupe | None,
        on_fatal: Callable[[BaseException], None],
    ) -> None:
        self.spec = spec
        self.publisher = publisher
        self.acks = acks
        self.dedupe = dedupe
        self.on_fatal = on_fatal
        labels = (spec.name, spec.mailbox)
        self.errors = metrics.errors
        self._dead = metrics.dead_letters.labels(*labels)
        self._produced = metrics.produced.labels(*labels)
        self.out = publisher.batch()
        self._handled: list[Inbound] = []
        self._scheduled = False
        self._hold: asyncio.TimerHandle | None = None
        self._flushed: asyncio.Future[None] | None = None
        self._settling: set[asyncio.Task[None]] = set()

    # -- from the handlers --------------------------------------------------------------
    def add(self, record: Inbound, output: Record) -> None:
        """An output of ``record`` (its result); ``record`` is committed only once every
        output of it is durable."""
        record.outputs.append(self.out.add(*output))

    def publish(self, sent: list[Sent]) -> None:
        """What a successful attempt sent (``ctx.send``, ``ctx.forward``)."""
        out = self.out
        for record, (topic, value, key, headers) in sent:
            record.outputs.append(out.add(topic, value, key, headers))

    def finished(self, record: Inbound) -> None:
        """``record`` is handled: its outputs are in ``out`` (or it became a dead letter)."""
        self._handled.append(record)
        if self._scheduled:
            return
        self._scheduled = True
        loop = asyncio.get_running_loop()
        if len(self._settling) < SETTLING_BATCHES:
            loop.call_soon(self._flush)
        else:  # goes out with the next settled batch, or after MAX_HOLD at the latest
            self._hold = loop.call_later(MAX_HOLD, self._flush)

    def dead_letter(
        self, record: Inbound, stage: Stage, error: BaseException, attempts: int
    ) -> None:
        """Send ``record`` to the dead-letter topic with why it failed; a request (an event
        with ``ce_replyto``) also gets a ``Failed`` reply, so its asker need not time out."""
        self.errors.labels(self.spec.name, self.spec.mailbox, stage).inc()
        headers = dead_letter_headers(record, self.spec.name, stage, error, attempts)
        value = dead_letter_value(self.spec, record)
        record.letter = asyncio.ensure_future(self._write_letter(record, value, headers))
        if record.envelope is not None and record.envelope.replyto:
            record.letter.add_done_callback(partial(self._answer_failed, record, stage, error))

    async def _write_letter(self, record: Inbound, value: bytes | None, headers: Any) -> Any:
        """The dead letter, sent again while the broker fails transiently."""
        publisher, topic = self.publisher, self.spec.dead_letter_topic

        async def send() -> Any:
            delivered = await publisher.send_raw(topic, value, record.key, headers)
            return await delivered

        return await retrying(send, f"the broker (dead letters to {topic})", log)

    def _answer_failed(
        self, record: Inbound, stage: Stage, error: BaseException, letter: asyncio.Future[Any]
    ) -> None:
        """Once the dead letter is written: tell the asker. Best effort: the dead letter is
        the record of what happened; a lost ``Failed`` reply leaves the asker its timeout."""
        if letter.cancelled() or letter.exception() is not None:
            return
        answer = self.failed_reply(record, stage, error)
        if answer is None or self.publisher.deleted(answer[0]):
            return  # the asker is gone with its reply topic (the late reply that failed)
        reply = asyncio.ensure_future(self.publisher.send_raw(*answer))
        reply.add_done_callback(_ignore)

    def failed_reply(self, record: Inbound, stage: Stage, error: BaseException) -> Record | None:
        """The ``Failed`` reply that tells a request's asker its request became a dead
        letter (None for an event without an envelope)."""
        envelope = record.envelope
        if envelope is None:
            return None
        failed = Failed(
            agent=self.spec.name,
            stage=stage,
            error=f"{type(error).__module__}.{type(error).__qualname__}",
            message=str(error)[:1000],
            dead_letter_topic=self.spec.dead_letter_topic,
        )
        headers = envelope.successor_headers(
            Failed.message_type, self.spec.name, traceparent=record.trace
        )
        return envelope.replyto or self.spec.reply_topic, encode(failed), record.key, headers

    # -- settling -----------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return not (self._handled or self._scheduled or self._settling)

    async def wait_idle(self) -> None:
        """Until every handled event is settled (or failed)."""
        while not self.idle:
            if self._settling:
                await asyncio.wait(list(self._settling), return_when=asyncio.FIRST_COMPLETED)
            else:
                await asyncio.sleep(0)  # the scheduled flush runs

    def cancel(self) -> None:
        """Stop settling (shutdown past its deadline); nothing unsettled is acknowledged."""
        for task in self._settling:
            task.cancel()
        if self._flushed is not None and not self._flushed.done():
            self._flushed.set_result(None)  # a cancelled task may never have started

    def _flush(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        if not self._scheduled:
            return
        self._scheduled = False
        handled, self._handled = self._handled, []
        out, self.out = self.out, self.publisher.batch()
        before, self._flushed = self._flushed, asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._settle(out, handled, before, self._flushed))
        self._settling.add(task)
        task.add_done_callback(self._settled)

    async def _settle(
        self,
        out: Any,
        handled: list[Inbound],
        before: asyncio.Future[None] | None,
        flushed: asyncio.Future[None],
    ) -> None:
        try:
            if before is not None:
                await before  # batches reach the producer in the order they were filled
            await out.flush()
        finally:
            if not flushed.done():
                flushed.set_result(None)
        await self._durable(handled)
        if self.dedupe is not None:
            await self._mark(handled)
        self.acks.done(handled)

    def _settled(self, task: asyncio.Task[None]) -> None:
        self._settling.discard(task)
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self.on_fatal(exc)
        elif self._hold is not None:
            asyncio.get_running_loop().call_soon(self._flush)  # what waited goes out now

    async def _durable(self, records: list[Inbound]) -> None:
        """Wait for every output; a failed one turns its record into a dead letter; a dead
        letter that fails for good raises :class:`DeliveryFailed`. (The producer itself
        keeps trying for ``kafka.request_timeout``, so a broker outage shorter than that
        costs a pause; dead letters are sent again until the broker takes them.)"""
        outputs = {f for r in records for f in r.outputs}
        if outputs:
            await asyncio.wait(outputs)
        bad = {f: e for f in outputs if (e := _failure(f)) is not None}
        produced = 0
        for record in records:
            produced += len(record.outputs)
            if bad and (failed := [bad[f] for f in record.outputs if f in bad]):
                produced -= len(failed)
                err = ProduceError(f"{len(failed)} output(s) not acknowledged: {failed[0]!r}")
                self.dead_letter(record, "produce", err, record.attempts)
        self._produced.inc(produced)
        letters = [r.letter for r in records if r.letter is not None]
        if not letters:
            return
        outcomes = await asyncio.gather(*letters, return_exceptions=True)
        errors = [e for e in outcomes if isinstance(e, BaseException)]
        self._dead.inc(len(outcomes) - len(errors))
        if errors:
            raise DeliveryFailed(
                f"{len(errors)} dead letter(s) to {self.spec.dead_letter_topic} "
                f"failed: {errors[0]!r}"
            ) from errors[0]

    async def _mark(self, records: list[Inbound]) -> None:
        """Claims of handled events become ``done``; those of dead letters are dropped,
        so a replay of the dead letter is handled again."""
        assert self.dedupe is not None  # noqa: S101 - checked by the caller
        done = [r.envelope.id for r in records if r.claimed and r.letter is None and r.envelope]
        dropped = [r.envelope.id for r in records if r.claimed and r.letter and r.envelope]
        if done or dropped:
            dedupe = self.dedupe
            await retrying(lambda: dedupe.settle(done, dropped), "redis (idempotency keys)", log)


def _ignore(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and (e := future.exception()) is not None:
        log.warning("a Failed reply was not sent: %r", e)


def _failure(future: asyncio.Future[Any]) -> BaseException | None:
    if future.cancelled():
        return asyncio.CancelledError()
    return future.exception()
