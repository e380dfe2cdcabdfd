"""Keyed, bounded parallelism across windows (streams.lanes)."""

import asyncio
import random

import pytest

from streams.lanes import Lanes

Item = tuple[str | None, int]


class Recorder:
    """Runs items after a delay per item; records start order, finish order, peak."""

    def __init__(self, delays: dict[int, float] | None = None) -> None:
        self.delays = delays or {}
        self.started: list[Item] = []
        self.finished: list[Item] = []
        self.running = 0
        self.peak = 0
        self.errors: list[BaseException] = []

    async def run(self, item: Item) -> None:
        self.started.append(item)
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            delay = self.delays.get(item[1], 0.0)
            if delay:
                await asyncio.sleep(delay)
        finally:
            self.running -= 1
        self.finished.append(item)

    def lanes(self, limit: int) -> Lanes[Item]:
        return Lanes(limit, lambda item: item[0], self.run, self.errors.append)


async def test_same_key_runs_in_submission_order_and_other_keys_do_not_wait() -> None:
    rec = Recorder({0: 0.2})  # the first event of key a is slow
    lanes = rec.lanes(limit=4)
    lanes.submit([("a", 0)])
    lanes.submit([("a", 1)])
    for i in range(2, 20):
        lanes.submit([(f"k{i}", i)])
    await asyncio.sleep(0.05)
    assert len(rec.finished) == 18  # every other key done while a's first call runs
    assert ("a", 1) not in rec.started
    await lanes.wait_idle()
    assert [i for k, i in rec.finished if k == "a"] == [0, 1]
    await lanes.stop()


async def test_at_most_limit_run_at_once() -> None:
    rec = Recorder({i: 0.01 for i in range(100)})
    lanes = rec.lanes(limit=8)
    for i in range(100):
        lanes.submit([(None, i)])
    assert lanes.saturated
    await lanes.wait_idle()
    assert rec.peak == 8
    assert len(rec.finished) == 100
    await lanes.stop()


async def test_per_key_order_holds_under_random_delays() -> None:
    rng = random.Random(7)
    rec = Recorder({i: rng.uniform(0, 0.005) for i in range(600)})
    lanes = rec.lanes(limit=16)
    for window in range(6):  # windows submitted while earlier ones still run
        for i in range(window * 100, window * 100 + 100):
            lanes.submit([(f"k{i % 13}", i)])
        await lanes.wait_room()
    await lanes.wait_idle()
    for key in {k for k, _ in rec.finished}:
        seen = [i for k, i in rec.finished if k == key]
        assert seen == sorted(seen), key
    assert len(rec.finished) == 600
    await lanes.stop()


async def test_handlers_that_never_suspend_run_without_waking_the_pool() -> None:
    rec = Recorder()
    lanes = rec.lanes(limit=32)
    for i in range(500):
        lanes.submit([(f"k{i % 50}", i)])
    await lanes.wait_room()
    await asyncio.sleep(0)
    assert len(rec.finished) == 500
    assert lanes.idle
    await lanes.stop()


async def test_each_event_runs_in_a_task_of_its_own_pool_worker() -> None:
    """A handler's first step runs in a worker task, so asyncio.timeout binds to it."""
    seen: list[asyncio.Task[object] | None] = []

    async def run(item: Item) -> None:
        seen.append(asyncio.current_task())
        async with asyncio.timeout(1):
            await asyncio.sleep(0)

    lanes: Lanes[Item] = Lanes(2, lambda item: item[0], run, print)
    lanes.submit([("a", 1)])
    await lanes.wait_idle()
    assert seen[0] is not None
    assert seen[0] is not asyncio.current_task()
    await lanes.stop()


async def test_clear_drops_what_has_not_started_and_keeps_keys_consistent() -> None:
    rec = Recorder({0: 0.05, 1: 0.05})
    lanes = rec.lanes(limit=1)
    lanes.submit([("a", 0)])
    lanes.submit([("a", 1)])  # parked behind 0
    lanes.submit([("b", 2)])  # runnable, waits for the worker
    await asyncio.sleep(0.01)
    assert lanes.clear() == 2
    await lanes.wait_idle()
    assert rec.finished == [("a", 0)]
    lanes.submit([("a", 3)])  # the key is free again
    lanes.submit([("b", 4)])
    await lanes.wait_idle()
    assert rec.finished == [("a", 0), ("a", 3), ("b", 4)]
    await lanes.stop()


async def test_stop_cancels_running_events_and_the_pool_restarts_on_submit() -> None:
    rec = Recorder({0: 10.0})
    lanes = rec.lanes(limit=2)
    lanes.submit([("a", 0)])
    await asyncio.sleep(0.01)
    await lanes.stop()
    assert rec.finished == []
    assert lanes.idle
    lanes.submit([("a", 1)])
    await lanes.wait_idle()
    assert rec.finished == [("a", 1)]
    await lanes.stop()


async def test_an_error_escaping_run_is_reported_and_the_worker_goes_on() -> None:
    errors: list[BaseException] = []
    done: list[int] = []

    async def run(item: Item) -> None:
        if item[1] == 0:
            raise RuntimeError("bug")
        done.append(item[1])

    lanes: Lanes[Item] = Lanes(1, lambda item: item[0], run, errors.append)
    lanes.submit([("a", 0)])
    lanes.submit([("a", 1)])
    await lanes.wait_idle()
    assert [str(e) for e in errors] == ["bug"]
    assert done == [1]
    await lanes.stop()


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="limit"):
        Lanes(0, lambda item: None, lambda item: asyncio.sleep(0), print)


async def test_parks_says_which_items_would_wait_behind_their_key() -> None:
    rec = Recorder({0: 0.2, 1: 0.2})
    lanes = rec.lanes(1)
    assert lanes.parks([("a", 0), ("a", 1), (None, 2), ("b", 3)]) == [False, True, False, False]
    lanes.submit([("a", 0), ("b", 1)])  # a runs, b waits for the one worker
    await asyncio.sleep(0.01)
    assert lanes.parks([("a", 2), ("b", 3), ("c", 4), (None, 5)]) == [True, True, False, False]
    await lanes.wait_idle()
    await lanes.stop()
