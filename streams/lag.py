"""Consumer lag per partition of each mailbox, on a timer: the partition's end offset,
asked from the broker, minus the offset the group committed. Unlike a figure taken when
records are fetched, it keeps moving while a partition is paused by backpressure, and it
counts the records waiting in an inbox and those in flight.

Being the worker's one request to the broker on a timer, it also tells when the broker
stops answering and when it answers again (:class:`streams.logs.Outage`): the client
libraries log the outage's errors, folded, but not its end."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
)
from prometheus_client import Gauge

from streams.logs import Outage

log = logging.getLogger(__name__)

#: Seconds between two reports; each costs one ListOffsets request per worker.
LAG_INTERVAL = 2.0
#: A report unanswered this long means the broker is away (a normal one takes a few ms;
#: aiokafka itself waits up to its request timeout before it gives up).
UNANSWERED = 6.0

Labels = tuple[str, str, str]  # agent, topic, partition
#: Errors of a report that mean the broker is away (others are a missed report only).
UNREACHABLE = (
    KafkaConnectionError,
    KafkaTimeoutError,
    NodeNotReadyError,
    RequestTimedOutError,
    ConnectionError,
    TimeoutError,
)


async def report_lag(
    fapp: Any, agents: dict[str, str], gauge: Gauge, interval: float = LAG_INTERVAL
) -> None:
    """Until cancelled, every ``interval`` seconds: set ``gauge`` for every assigned
    partition of the mailboxes in ``agents`` (mailbox -> agent name), and remove the
    partitions this worker no longer holds. One report at a time: while one waits for
    the broker, the next ones are skipped."""
    reporter = LagReporter(fapp, agents, gauge)
    try:
        while True:
            await asyncio.sleep(interval)
            reporter.tick()
    finally:
        reporter.cancel()


class LagReporter:
    """The lag reports of one worker, and what their answers say about the broker."""

    def __init__(self, fapp: Any, agents: dict[str, str], gauge: Gauge) -> None:
        self.fapp = fapp
        self.agents = agents
        self.gauge = gauge
        self.broker = Outage("the Kafka broker")
        self._shown: set[Labels] = set()
        self._report: asyncio.Task[bool] | None = None
        self._sent = 0.0

    def tick(self) -> None:
        """Start a report, or note that the one under way is still unanswered."""
        now = asyncio.get_running_loop().time()
        if self._report is not None:
            if now - self._sent >= UNANSWERED:
                self.broker.failed(self._sent, f"no answer for {now - self._sent:.0f} s")
            return
        self._sent = now
        self._report = asyncio.create_task(self._run())
        self._report.add_done_callback(self._done)

    def cancel(self) -> None:
        if self._report is not None:
            self._report.cancel()

    async def _run(self) -> bool:
        """One report; whether it asked the broker (a worker holding no partition of a
        mailbox has nothing to ask)."""
        tps = [tp for tp in self.fapp.consumer.assignment() if tp.topic in self.agents]
        if not tps:
            self._shown = _show(self.gauge, {}, self._shown)
            return False
        ends = await self.fapp.consumer.highwaters(*tps)
        committed = self.fapp.consumer._committed_offset  # what faust committed
        lags: dict[Labels, int] = {}
        for tp in tps:
            end = ends.get(tp)
            if end is not None:
                labels = (self.agents[tp.topic], tp.topic, str(tp.partition))
                lags[labels] = max(0, end - (committed.get(tp) or 0))
        self._shown = _show(self.gauge, lags, self._shown)
        return True

    def _done(self, report: asyncio.Task[bool]) -> None:
        self._report = None
        if report.cancelled():
            return
        if (e := report.exception()) is not None:  # a missed report; the next may succeed
            log.debug("consumer lag not updated: %r", e)
            if isinstance(e, UNREACHABLE):
                self.broker.failed(self._sent, repr(e))
        elif report.result():
            self.broker.answered(asyncio.get_running_loop().time())


def _show(gauge: Gauge, lags: dict[Labels, int], shown: set[Labels]) -> set[Labels]:
    for labels, lag in lags.items():
        gauge.labels(*labels).set(lag)
    for labels in shown - lags.keys():
        gauge.remove(*labels)
    return set(lags)
