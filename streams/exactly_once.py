"""Delivery of an exactly-once agent: outputs and input offsets in one Kafka transaction.

What an event produces (its result, ``ctx.send`` and ``ctx.forward`` records, its dead
letter and the ``Failed`` reply of a request) stays with the event until the event and
every event before it in its partition are handled. That run of events then goes out in
one transaction of the partition's producer (:mod:`streams.transactions`), together with
the offset after its last event (``send_offsets_to_transaction`` for the app's group);
once the transaction commits, the events are acknowledged. One transaction per partition
is open at a time; events handled meanwhile form the next one, so transactions grow with
the load instead of multiplying. Handlers still run in parallel and never wait for a
transaction: a transaction spans only the sends, the offsets and the commit.

A transaction that fails is aborted and sent again from the kept records (a broker
outage costs a pause, not a re-run of handlers); an output the broker rejects for good
(too large, a topic that does not exist) turns its event into a dead letter, in the next
attempt's transaction. A fenced producer (another worker owns the partition now) is fatal:
nothing of the open transaction becomes visible and the worker stops.

Not part of the transaction: Redis (idempotency keys, keyed state, caches) and any other
side effect of a handler. Those happen when the handler runs and may run again when a
transaction is aborted by a crash; see docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaError,
    ProducerFenced,
    RecordTooLargeError,
    TransactionalIdAuthorizationFailed,
)

from streams.acks import AckTracker
from streams.agent import AgentSpec
from streams.context import Sent
from streams.deadletter import dead_letter_headers, dead_letter_value
from streams.delivery import Delivery
from streams.errors import ConfigurationError, ProduceError, Stage, UnknownTopic
from streams.idempotency import Dedupe
from streams.metrics import Metrics
from streams.publisher import OutBatch, Producer, Publisher, Record
from streams.records import Inbound
from streams.retrying import retrying
from streams.transactions import Fenced, Transactions

log = logging.getLogger(__name__)

FENCED = (ProducerFenced, InvalidProducerEpoch, TransactionalIdAuthorizationFailed)
#: Failures a transaction is sent again after (with a new producer): the broker's, and an
#: output rejected for good (its event is a dead letter in the next attempt).
RETRIED = (KafkaError, ProduceError, OSError, TimeoutError)


class TransactionalDelivery(Delivery):
    """The outputs of one exactly-once agent, committed per input partition."""

    def __init__(
        self,
        spec: AgentSpec,
        publisher: Producer,
        metrics: Metrics,
        acks: AckTracker,
        dedupe: Dedupe | None,
        on_fatal: Any,
        transactions: Transactions,
        group: str,
    ) -> None:
        super().__init__(spec, publisher, metrics, acks, dedupe, on_fatal)
        if not isinstance(publisher, Publisher):
            raise ConfigurationError("exactly-once delivery needs Kafka (streams.Publisher)")
        self.kafka_publisher = publisher  # partition counts: unknown topics fail fast
        self.transactions = transactions
        self.group = group
        self._running: dict[int, asyncio.Task[None]] = {}

    # -- from the handlers --------------------------------------------------------------
    def add(self, record: Inbound, output: Record) -> None:
        record.outputs.append(output)

    def publish(self, sent: list[Sent]) -> None:
        for record, output in sent:
            record.outputs.append(output)

    def dead_letter(
        self, record: Inbound, stage: Stage, error: BaseException, attempts: int
    ) -> None:
        """The dead letter (and the ``Failed`` reply of a request) go out in the event's
        transaction, instead of what the event produced."""
        self.errors.labels(self.spec.name, self.spec.mailbox, stage).inc()
        headers = dead_letter_headers(record, self.spec.name, stage, error, attempts)
        value = dead_letter_value(self.spec, record)
        letter = (self.spec.dead_letter_topic, value, record.key, headers)
        letters: list[Any] = [letter]
        if record.envelope is not None and record.envelope.replyto:
            answer = self.failed_reply(record, stage, error)
            if answer is not None:
                letters.append(answer)
        record.outputs.clear()
        record.letter = letters

    def finished(self, record: Inbound) -> None:
        record.handled = True
        assert record.track is not None  # noqa: S101 - registered at intake
        self._start(record.partition, record.track.records)

    # -- transactions -------------------------------------------------------------------
    def _start(self, partition: int, queue: Any) -> None:
        """Commit the run of handled events at the head of ``partition``, unless a
        transaction of that partition is under way (it starts the next one when done)."""
        if partition in self._running or not queue or not queue[0].handled:
            return
        run: list[Inbound] = []
        for record in queue:
            if not record.handled:
                break
            run.append(record)
        task = asyncio.create_task(self._commit(partition, run))
        self._running[partition] = task
        task.add_done_callback(partial(self._committed, partition, queue))

    def _committed(self, partition: int, queue: Any, task: asyncio.Task[None]) -> None:
        if self._running.get(partition) is task:
            del self._running[partition]
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            self.on_fatal(exc)
            return
        self._start(partition, queue)

    async def _commit(self, partition: int, run: list[Inbound]) -> None:
        """Send ``run``'s outputs and the offset after it in one transaction, again until
        it commits; then acknowledge ``run``."""
        mailbox = self.spec.mailbox
        offsets = {TopicPartition(mailbox, partition): run[-1].offset + 1}

        async def attempt() -> None:
            try:
                await self._check_topics(run)
                await self._transaction(
                    self.transactions.producer(mailbox, partition), run, offsets
                )
            except FENCED as e:
                raise Fenced(
                    f"{mailbox}[{partition}]: another worker took the partition over "
                    f"({type(e).__name__}); this worker's open transaction is discarded"
                ) from e

        async def renew() -> None:
            """A fresh producer: its start aborts what the failed one left open."""
            try:
                await self.transactions.renew(mailbox, partition)
            except FENCED as e:
                raise Fenced(f"{mailbox}[{partition}]: {type(e).__name__}") from e
            except RETRIED as e:
                log.debug("renewing the producer of %s[%d] failed: %r", mailbox, partition, e)

        await retrying(
            attempt,
            f"agent {self.spec.name}: the transactions of {mailbox}[{partition}]",
            log,
            transient=lambda e: isinstance(e, RETRIED),
            between=renew,
        )
        produced = sum(len(r.outputs) for r in run)
        self._produced.inc(produced)
        self._dead.inc(sum(1 for r in run if r.letter is not None))
        if self.dedupe is not None:
            await self._mark(run)
        self.acks.done(run)

    async def _transaction(
        self, producer: Any, run: list[Inbound], offsets: dict[TopicPartition, int]
    ) -> None:
        await producer.begin_transaction()
        out = OutBatch(self.kafka_publisher, producer)  # batches built here, as outside
        sent = [
            (record, out.add(topic, value, key, headers))
            for record in run
            for topic, value, key, headers in record.letter or record.outputs
        ]
        try:
            await out.flush()
            if sent:
                await asyncio.wait([f for _, f in sent])
        finally:  # a failed transaction fails its sends: nobody else looks at them
            for _, f in sent:
                f.add_done_callback(_retrieved)
        rejected = {r: e for r, f in sent if (e := f.exception()) is not None and _rejects(e)}
        if rejected:
            for record, error in rejected.items():
                self._reject(record, error)
            raise ProduceError(f"{len(rejected)} event(s) had an output rejected; retrying")
        for _, f in sent:
            if (e := f.exception()) is not None:
                raise e
        await producer.send_offsets_to_transaction(offsets, self.group)
        await producer.commit_transaction()

    async def _check_topics(self, run: list[Inbound]) -> None:
        """An output to a topic the cluster does not have turns its event into a dead
        letter before the transaction (a transactional send would wait for the topic
        for the whole request timeout)."""
        publisher = self.kafka_publisher
        for record in run:
            for topic, *_ in record.letter or record.outputs:
                if topic in publisher.partition_counts:
                    continue
                try:
                    await publisher.partition_count(topic)
                except UnknownTopic as e:
                    if record.letter is not None:
                        raise  # the dead-letter topic itself: created at start; fatal
                    self.dead_letter(record, "produce", e, record.attempts)
                    break

    def _reject(self, record: Inbound, error: BaseException) -> None:
        if record.letter is not None:
            return  # a dead letter the broker refuses: retried, then fatal via the caller
        err = ProduceError(f"an output was rejected by the broker: {error!r}")
        self.dead_letter(record, "produce", err, record.attempts)

    # -- settling -----------------------------------------------------------------------
    @property
    def idle(self) -> bool:
        return not self._running

    async def wait_idle(self) -> None:
        while self._running:
            await asyncio.wait(list(self._running.values()))

    def cancel(self) -> None:
        for task in list(self._running.values()):
            task.cancel()


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _rejects(error: BaseException) -> bool:
    """An error the broker gives a record every time: the event becomes a dead letter."""
    return isinstance(error, RecordTooLargeError | UnknownTopic)
