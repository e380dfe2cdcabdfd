"""Where agentstream touches faust's internals, in one place.

faust runs the consumer group: subscription, assignment, rebalances, fetching, and commits
of acknowledged offsets. Its per-event path (Conductor -> Event -> channel queue ->
Stream) is what makes a naive faust agent slow, and a Stream acknowledges events before
our outputs are durable. So records of agent mailboxes take a shorter path:

* :class:`_Consumer` replaces faust's fetch loop, whose ``Service.wait_first`` creates
  four asyncio tasks per record, and the record iteration of ``Consumer.getmany``, which
  reads the high watermark per record; it hands records of agent mailboxes straight to
  their :class:`Inbox` (other topics still go through faust's Conductor);
* :class:`Inbox` does what faust's Stream would do for each event (faust/streams.py,
  ``_py_aiter``): it drops records fetched before a rebalance (stale consumer generation)
  or while flow control is suspended, which the consumer fetches again after seeking to
  the committed offset; and it tracks each record it hands out, so that on rebalance and
  shutdown ``Consumer.wait_empty`` waits until our loop acknowledged it;
* the :class:`Inbox` is also how the loop takes records back: ``ack`` marks a record
  done and faust commits acknowledged offsets (our loops acknowledge in offset order per
  partition, which faust's commit logic relies on); ``release`` forgets a record that
  will not be acknowledged (it is fetched again);
* backpressure per mailbox: an :class:`Inbox` past its high water has its own partitions
  paused (faust's ``pause_partitions``: left out of the fetch), and resumed when it has
  drained to half; the fetch loop never waits for one agent, so other agents keep flowing;
* backpressure per partition: a partition the loop holds (its head is stuck and it has
  taken its share of the backlog, see :mod:`streams.inbox`) is paused on its own, and
  the inbox's resumption leaves it paused until the loop lets it go;
* on revocation, :class:`_Consumer` gives the agents a bounded time to finish what is in
  flight (they abandon the rest, which is not committed), and commits what was
  acknowledged before faust discards it.

Private attributes used here, all checked by ``tests/unit/test_faust_contract.py``:
faust ``Consumer._unacked_messages``, ``_waiting_for_ack``, ``_read_offset``,
``_commit_every``, ``_n_acked``, ``_paused_partitions``,
``_committed_offset`` (read by streams/lag.py), ``_commit``,
``Monitor.stream_inbound_time`` (read by faust's stall detector),
``_add_gap``, ``_to_message``, ``_wait_next_records``, ``_new_consumer_thread``,
``_get_active_partitions``, ``maybe_wait_for_commit_to_finish``, ``force_commit``, and
the order of ``perform_seek`` and ``resume_flow`` in faust's recovery; faust
``AIOKafkaConsumerThread._create_worker_consumer``;
aiokafka ``AIOKafkaConsumer._fetch_max_wait_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

import faust
from faust.transport.consumer import CONSUMER_FETCHING, ensure_TP
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP
from mode.utils.futures import notify

from streams.inbox import Inbox as BaseInbox
from streams.transactions import Transactions

log = logging.getLogger(__name__)

#: What an agent does on revocation: ``quiesce(seconds)`` finishes what is in flight
#: within ``seconds`` and abandons the rest.
Quiesce = Callable[[float], Awaitable[None]]


class Inbox(BaseInbox[Any]):
    """Records of one mailbox on their way to an agent loop (a ``batching.Source``), and
    the loop's way back to faust's consumer (a ``loop.Consumer``)."""

    def __init__(
        self,
        app: faust.App,
        topic: str,
        high_water: int,
        quiesce: Quiesce,
    ) -> None:
        super().__init__(low_water=high_water // 2)
        self._app = app
        self.topic = topic
        self.quiesce = quiesce
        self._consumer: Any = app.consumer  # our _Consumer
        self._flow = app.flow_control
        self._high_water = high_water
        # self.paused: partitions of this mailbox paused because the inbox is full
        self._count, self._counted_at = 0, -1  # partitions, at which consumer generation

    # -- fetch side ---------------------------------------------------------------------
    async def put_many(self, messages: list[Any]) -> None:
        """Never waits: a full inbox pauses its partitions after the fetch is delivered.
        Tells faust's stall detector that the records' partitions are processed (faust's
        Stream would, through ``Monitor.on_stream_event_in``; without it, faust logs
        "Stream has not started processing" at ERROR for busy partitions)."""
        monitor = self._app.monitor
        if monitor is not None and messages:
            now = time.monotonic()
            inbound = monitor.stream_inbound_time
            for tp in {m.tp for m in messages}:
                inbound[tp] = now
        self._put(messages)

    @property
    def full(self) -> bool:
        """Records set aside for held partitions do not count: their partitions are
        paused already, and counting them would pause the others too."""
        return len(self._items) >= self._high_water

    # -- agent side ---------------------------------------------------------------------
    def _drained(self) -> None:
        self._consumer.resume_for(self)

    def _accept(self, message: Any) -> Any:
        if not self._flow.is_active() or message.generation_id != self._app.consumer_generation_id:
            return None
        # Consumer.track_message without its per-record sensor calls: faust's Monitor
        # is not served (web is off) and our own metrics count per window.
        message.tracked = True
        self._consumer._unacked_messages.add(message)
        return message

    # -- loop.Consumer ------------------------------------------------------------------
    def ack(self, message: Any) -> None:
        """The record and everything it produced are durable: its offset may be committed."""
        self._consumer.ack(message)

    def release(self, message: Any) -> None:
        """Stop tracking a record that will not be acknowledged (abandoned on rebalance or
        shutdown); it is not committed, so it is fetched and handled again."""
        consumer = self._consumer
        consumer._unacked_messages.discard(message)
        notify(consumer._waiting_for_ack)

    @property
    def partitions(self) -> int:
        """The mailbox's partitions assigned to this worker (counted once per rebalance)."""
        generation = self._app.consumer_generation_id
        if generation != self._counted_at:
            topic = self.topic
            self._count = sum(1 for tp in self._consumer.assignment() if tp.topic == topic)
            self._counted_at = generation
        return self._count

    def hold(self, partition: int) -> None:
        super().hold(partition)
        self._consumer.hold(TP(self.topic, partition))

    def unhold(self, partition: int) -> None:
        super().unhold(partition)
        self._consumer.unhold(self, TP(self.topic, partition))


#: faust hard-codes a 1.5 s fetch long-poll. aiokafka keeps one fetch in flight per broker
#: and leaves out of it the partitions that still have records buffered, so when a
#: partition's buffer empties while the in-flight fetch waits on caught-up partitions,
#: that partition stalls for the whole long-poll. Kafka's own default is 500 ms; shorter
#: stalls cost only a few more empty fetches when idle.
FETCH_MAX_WAIT_MS = 100


class _Consumer(aiokafka_driver.Consumer):
    """faust's aiokafka consumer with a cheaper fetch loop (see the module docstring).

    The loop checks ``suspend_flow`` between records instead of racing each delivery
    against it; read offsets, gaps and ``broker_commit_every`` follow faust's own logic.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resumed = asyncio.Event()
        # Seeks to the committed offsets (every rebalance ends with one) are counted, so
        # that a fetch that spanned one is recognised: see ``_drain_messages``.
        self._seeks = 0
        self._seeking = False
        self._reseek = False

    async def perform_seek(self) -> None:
        """Seek every assigned partition to its committed offset (faust's
        ``perform_seek``, which its recovery runs at the end of every rebalance). Records
        dropped before it starts are fetched again after it, so a pending re-seek is
        covered by it.

        aiokafka's ``seek_to_committed`` leaves a partition with nothing committed (or
        0) where it is, which is past whatever was fetched and dropped since the
        partition was assigned; such a partition is sought to offset 0 (the group's
        reset policy, earliest, applies where the log starts later)."""
        self._seeks += 1
        self._seeking = True
        self._reseek = False
        try:
            transactions = cast(_Transport, self.transport).transactions
            if transactions is not None:  # fence earlier owners before reading offsets
                try:
                    await transactions.assign((tp.topic, tp.partition) for tp in self.assignment())
                except Exception as e:  # noqa: BLE001 - fatal for the app, not for faust
                    transactions.on_fatal(e)
                    return  # nothing is handled without the partitions' producers
            committed = await self.seek_to_committed()
            for tp, offset in committed.items():
                if offset is None or offset <= 0:
                    await self.seek(tp, 0)
            self._read_offset.update(
                {tp: o if o is not None and o > 0 else None for tp, o in committed.items()}
            )
            self._committed_offset.update(
                {ensure_TP(tp): o for tp, o in committed.items() if o is not None and o > 0}
            )
        finally:
            self._seeking = False

    async def _drain_messages(self, fetcher: Any) -> None:
        inboxes = cast(_Transport, self.transport).inboxes
        stopped_errors = cast(
            tuple[type[BaseException], ...],
            (asyncio.CancelledError, *self.consumer_stopped_errors),
        )
        consumer_stopped = self._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (consumer_stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                if not self._flowing():
                    # A rebalance is under way; it ends with a seek to the committed
                    # offsets, and the flow resumes after it.
                    await self._wait_flow(1.0)
                    continue
                if self._reseek:
                    self._reseek = False
                    log.debug("a fetch overlapped a seek to the committed offsets: seeking again")
                    await self.perform_seek()
                    continue
                if self._all_paused():
                    await self._wait_resumed(1.0)
                    continue
                seeks, generation = self._seeks, self.app.consumer_generation_id
                records, _ = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if records and not self.should_stop:
                    await self._take_fetched(records, seeks, generation, inboxes)
                for inbox in inboxes.values():
                    if inbox.full:
                        self._pause_for(inbox)
                self.diag.unset_flag(CONSUMER_FETCHING)
        except stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _take_fetched(
        self,
        records: Mapping[Any, list[Any]],
        seeks: int,
        generation: int,
        inboxes: dict[str, Inbox],
    ) -> None:
        """Deliver what one fetch returned, or drop it where a seek will fetch it again.

        aiokafka's position has moved past every record it returned, so a dropped
        record is read again only after a seek to an offset at or before it; were a
        later record of its partition acknowledged first, faust would commit past it.
        Records fetched while a rebalance began are dropped: the rebalance ends with a
        seek to the committed offsets. A fetch that overlapped such a seek may hold
        records from before it or from after it, so those are dropped and the
        partitions are sought again (nothing has been delivered since the seek)."""
        if seeks != self._seeks or self._seeking:
            self._reseek = True
            return
        if not self._flowing() or generation != self.app.consumer_generation_id:
            return
        await self._deliver_all(records, inboxes)

    async def _deliver_all(
        self, records: Mapping[Any, list[Any]], inboxes: dict[str, Inbox]
    ) -> None:
        """faust's ``Consumer.getmany`` minus its per-record costs: the high watermark is
        read once per partition, a partition's records go to their inbox in one step, and
        each agent mailbox has its own inbox, so no round-robin between partitions.
        Records of a partition paused while they were fetched (a full inbox) are
        delivered too: faust's ``getmany`` would drop them, with nothing to fetch them
        again until the next rebalance."""
        app = self.app
        generation = app.consumer_generation_id
        for tp, batch in records.items():
            highwater = self.highwater(tp)
            app.monitor.track_tp_end_offset(tp, highwater)
            inbox = inboxes.get(tp.topic)
            # A rebalance or flow stop drops the rest; after it the consumer seeks to the
            # committed offset and fetches them again.
            if self._stopped_flowing(generation):
                return
            if inbox is not None:
                await self._deliver(tp, batch, inbox.put_many)
                continue
            for record in batch:  # faust's Conductor takes one record at a time
                if self._stopped_flowing(generation):
                    return
                await self._deliver(tp, [record], self._to_conductor)

    # -- backpressure -------------------------------------------------------------------
    def _pause_for(self, inbox: Inbox) -> None:
        """Leave the inbox's partitions out of the fetch (after a fetch is delivered, so
        no record of it is dropped). New partitions of a full inbox are paused too."""
        tps = {tp for tp in self.assignment() if tp.topic == inbox.topic}
        tps -= self._paused_partitions
        if tps:
            self.pause_partitions(tps)
            inbox.paused |= tps
            log.debug("paused %s: inbox holds %d records", sorted(tps), len(inbox))

    def resume_for(self, inbox: Inbox) -> None:
        """The inbox has drained: resume its partitions, except those its loop holds."""
        held = inbox.held
        tps = {tp for tp in inbox.paused if tp.partition not in held} & self.assignment()
        inbox.paused.clear()
        self._resume(tps)

    def hold(self, tp: Any) -> None:
        """An agent loop holds ``tp``: its head is stuck and it has taken its share."""
        if tp in self.assignment() and tp not in self._paused_partitions:
            self.pause_partitions({tp})
            log.debug("held %s", tp)

    def unhold(self, inbox: Inbox, tp: Any) -> None:
        if inbox.paused:  # the inbox is full: it is resumed with the others
            inbox.paused.add(tp)
        else:
            self._resume({tp} & self.assignment())

    def _resume(self, tps: set[Any]) -> None:
        if tps:
            self.resume_partitions(tps)
            self._resumed.set()
            log.debug("resumed %s", sorted(tps))

    def _all_paused(self) -> bool:
        """Every assigned partition paused: faust's fetch would sleep a fixed second."""
        return bool(self._paused_partitions) and not self._get_active_partitions()

    async def _wait_resumed(self, seconds: float) -> None:
        self._resumed.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._resumed.wait()

    def _flowing(self) -> bool:
        return self.flow_active and not self.suspend_flow.is_set() and not self.should_stop

    async def _wait_flow(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.can_resume_flow.wait()

    def _stopped_flowing(self, generation: int) -> bool:
        return (
            self.suspend_flow.is_set()
            or self.should_stop
            or not self.flow_active
            or self.app.consumer_generation_id != generation
        )

    async def _deliver(
        self, tp: Any, batch: list[Any], put: Callable[[list[Any]], Awaitable[None]]
    ) -> None:
        """Records of one partition, in offset order: skip what was read before, register
        offset gaps, commit every N acks, hand them to ``put``, advance the read offset."""
        read = self._read_offset[tp]
        last = read
        gaps: list[tuple[int, int]] = []
        messages = []
        to_message = self._to_message
        for record in batch:
            offset = record.offset
            if read is not None and offset < read:
                continue
            if last and offset - last > 1:
                gaps.append((last + 1, offset))
            messages.append(to_message(tp, record))
            last = offset
        if not messages:
            return
        if gaps and self.app.topics.acks_enabled_for(tp.topic):
            for start, end in gaps:
                await self._add_gap(tp, start, end)
        await self._maybe_commit_every()
        await put(messages)
        # A rebalance during the awaits above seeks back to the committed offset and
        # resets the read offset; stale records must not move it forward again, or the
        # records between would be skipped when fetched anew.
        if messages[-1].generation_id == self.app.consumer_generation_id:
            self._read_offset[tp] = messages[-1].offset

    async def _to_conductor(self, messages: list[Any]) -> None:
        for message in messages:
            await self.callback(message)

    async def _maybe_commit_every(self) -> None:
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()

    async def _commit(self, offsets: Mapping[Any, int]) -> bool:
        """Commit offsets; those of exactly-once mailboxes are committed by their
        transactions, before their records are acknowledged, and are left out here."""
        transactions = cast(_Transport, self.transport).transactions
        if transactions is not None:
            offsets = {tp: o for tp, o in offsets.items() if tp.topic not in transactions.topics}
            if not offsets:
                return True
        return bool(await super()._commit(offsets))

    def _new_consumer_thread(self) -> Any:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        """faust forgets the acknowledged but not yet committed offsets of revoked
        partitions before it waits for events in flight, so those would be handled again
        by the next owner. Stop taking events, give the agents ``revoke_timeout`` to
        finish what is in flight (they abandon the rest, uncommitted), and commit, before
        faust's own revocation runs."""
        if revoked and not self.should_stop:
            self.stop_flow()
            self.app.flow_control.suspend()
            transport = cast(_Transport, self.transport)
            budget = transport.revoke_timeout
            await asyncio.gather(*(i.quiesce(budget) for i in transport.inboxes.values()))
            if transport.transactions is not None:
                await transport.transactions.revoke((tp.topic, tp.partition) for tp in revoked)
            with contextlib.suppress(Exception):  # faust logs it; the next owner redoes them
                # commit() returns without committing when another commit is under way;
                # what was acknowledged since must be committed before faust forgets it.
                await self.maybe_wait_for_commit_to_finish()
                await self.force_commit()
        await super().on_partitions_revoked(revoked)


class _ConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """faust's consumer thread with a shorter fetch long-poll (see ``FETCH_MAX_WAIT_MS``)."""

    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        consumer._isolation_level = cast(_Transport, transport).isolation_level
        return consumer


class _Transport(aiokafka_driver.Transport):
    Consumer = _Consumer

    def __init__(
        self, *args: Any, revoke_timeout: float, isolation_level: str, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.inboxes: dict[str, Inbox] = {}
        self.revoke_timeout = revoke_timeout
        self.isolation_level = isolation_level
        #: An exactly-once app's transactional producers (its mailboxes' offsets are
        #: committed by them); None for at-least-once apps.
        self.transactions: Transactions | None = None


def install(
    app: faust.App,
    revoke_timeout: float,
    isolation_level: str,
    transactions: Transactions | None = None,
) -> None:
    """Use :class:`_Consumer`; must run before ``app.consumer`` is first touched."""
    transport = _Transport(
        app.conf.broker_consumer,
        app,
        revoke_timeout=revoke_timeout,
        isolation_level=isolation_level,
    )
    transport.transactions = transactions
    app.transport = transport


def inbox_for(
    app: faust.App,
    topic: str,
    high_water: int,
    quiesce: Quiesce,
) -> Inbox:
    inbox = Inbox(app, topic, high_water, quiesce)
    cast(_Transport, app.transport).inboxes[topic] = inbox
    return inbox
