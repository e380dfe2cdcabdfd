"""Consumer lag per partition of each mailbox, on a timer: the partition's end offset,
asked from the broker, minus the offset the group committed. Unlike a figure taken when
records are fetched, it keeps moving while a partition is paused by backpressure, and it
counts the records waiting in an inbox and those in flight."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import Gauge

log = logging.getLogger(__name__)

#: Seconds between two reports; each costs one ListOffsets request per worker.
LAG_INTERVAL = 2.0

Labels = tuple[str, str, str]  # agent, topic, partition


async def report_lag(
    fapp: Any, agents: dict[str, str], gauge: Gauge, interval: float = LAG_INTERVAL
) -> None:
    """Until cancelled, every ``interval`` seconds: set ``gauge`` for every assigned
    partition of the mailboxes in ``agents`` (mailbox -> agent name), and remove the
    partitions this worker no longer holds."""
    shown: set[Labels] = set()
    while True:
        await asyncio.sleep(interval)
        try:
            shown = await _report(fapp.consumer, agents, gauge, shown)
        except Exception as e:  # noqa: BLE001 - a missed report; the next one may succeed
            log.debug("consumer lag not updated: %r", e)


async def _report(
    consumer: Any, agents: dict[str, str], gauge: Gauge, shown: set[Labels]
) -> set[Labels]:
    tps = [tp for tp in consumer.assignment() if tp.topic in agents]
    ends = await consumer.highwaters(*tps) if tps else {}
    committed = consumer._committed_offset  # what faust committed for this group
    now: set[Labels] = set()
    for tp in tps:
        end = ends.get(tp)
        if end is None:
            continue
        labels = (agents[tp.topic], tp.topic, str(tp.partition))
        gauge.labels(*labels).set(max(0, end - (committed.get(tp) or 0)))
        now.add(labels)
    for labels in shown - now:
        gauge.remove(*labels)
    return now
