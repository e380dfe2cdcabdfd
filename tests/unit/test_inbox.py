"""Holding partitions in an inbox (streams.inbox) and in faust's consumer."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP

from streams.faust_source import Inbox as FaustInbox
from streams.faust_source import _Consumer
from streams.testing.broker import Inbox, Record


def rec(partition: int, offset: int) -> Record:
    return Record("t", partition, offset, None, b"")


def drain(inbox: Inbox) -> list[tuple[int, int]]:
    taken: list[tuple[int, int]] = []
    while True:
        try:
            r = inbox.get_nowait()
        except asyncio.QueueEmpty:
            return taken
        taken.append((r.partition, r.offset))


def test_records_of_a_held_partition_are_set_aside_and_come_first_when_let_go() -> None:
    inbox = Inbox(partitions=2)
    inbox.put(rec(0, 0))
    inbox.hold(0)
    for o in range(1, 4):
        inbox.put(rec(0, o))
        inbox.put(rec(1, o))
    assert drain(inbox) == [(1, 1), (1, 2), (1, 3)]
    assert (len(inbox), inbox.empty(), inbox.held) == (4, True, {0})
    inbox.put(rec(1, 4))
    inbox.unhold(0)
    assert drain(inbox) == [(0, 0), (0, 1), (0, 2), (0, 3), (1, 4)]
    assert inbox.taken == 8


async def test_letting_a_partition_go_wakes_a_loop_waiting_for_records() -> None:
    inbox = Inbox()
    inbox.hold(0)
    inbox.put(rec(0, 0))
    waiting = asyncio.create_task(inbox.get())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the only record is set aside
    inbox.unhold(0)
    assert (await asyncio.wait_for(waiting, 1)).offset == 0


class FakeConsumer:
    """The parts of faust's consumer that holding uses."""

    def __init__(self, tps: set[TP]) -> None:
        self._assignment = tps
        self._paused_partitions: set[TP] = set()
        self._resumed = asyncio.Event()

    def assignment(self) -> set[TP]:
        return self._assignment

    def pause_partitions(self, tps: set[TP]) -> None:
        self._paused_partitions |= tps

    def resume_partitions(self, tps: set[TP]) -> None:
        self._paused_partitions -= tps

    resume_for = _Consumer.resume_for
    hold = _Consumer.hold
    unhold = _Consumer.unhold
    _resume = _Consumer._resume


async def _none(seconds: float) -> None:
    return None


def faust_inbox(consumer: Any) -> FaustInbox:
    app = SimpleNamespace(
        consumer=consumer, flow_control=None, monitor=None, consumer_generation_id=1
    )
    return FaustInbox(app, "t", high_water=10, quiesce=_none)  # type: ignore[arg-type]


@pytest.mark.parametrize("held_first", [True, False])
def test_a_drained_inbox_resumes_its_partitions_but_not_a_held_one(held_first: bool) -> None:
    tps = {TP("t", p) for p in range(3)} | {TP("other", 0)}
    consumer: Any = FakeConsumer(tps)
    inbox = faust_inbox(consumer)
    assert inbox.partitions == 3
    if held_first:
        inbox.hold(1)
    consumer.pause_partitions({TP("t", 0), TP("t", 1), TP("t", 2)})  # the inbox is full
    inbox.paused |= {TP("t", 0), TP("t", 1), TP("t", 2)}
    if not held_first:
        inbox.hold(1)
    consumer.resume_for(inbox)
    assert consumer._paused_partitions == {TP("t", 1)}
    inbox.unhold(1)
    assert consumer._paused_partitions == set()


def test_a_partition_let_go_while_its_inbox_is_full_waits_for_the_inbox() -> None:
    consumer: Any = FakeConsumer({TP("t", 0), TP("t", 1)})
    inbox = faust_inbox(consumer)
    inbox.hold(0)
    consumer.pause_partitions({TP("t", 1)})  # then the inbox filled up
    inbox.paused.add(TP("t", 1))
    inbox.unhold(0)
    assert consumer._paused_partitions == {TP("t", 0), TP("t", 1)}
    consumer.resume_for(inbox)
    assert consumer._paused_partitions == set()
