import asyncio

from streams.batching import next_window
from streams.policy import Batch


async def test_closes_at_max_size() -> None:
    q: asyncio.Queue[int] = asyncio.Queue()
    for i in range(10):
        q.put_nowait(i)
    w = await next_window(q, Batch(max_size=4, within=5))
    assert (w.items, w.reason) == ([0, 1, 2, 3], "size")


async def test_closes_at_within_when_not_eager() -> None:
    q: asyncio.Queue[int] = asyncio.Queue()
    q.put_nowait(1)
    w = await next_window(q, Batch(max_size=100, within=0.05, eager=False))
    assert (w.items, w.reason) == ([1], "time")
    assert w.waited >= 0.05


async def test_eager_close_when_nothing_buffered() -> None:
    q: asyncio.Queue[int] = asyncio.Queue()
    q.put_nowait(1)
    q.put_nowait(2)
    w = await next_window(q, Batch(max_size=100, within=30))
    assert (w.items, w.reason) == ([1, 2], "eager")


async def test_not_eager_keeps_collecting_late_arrivals() -> None:
    q: asyncio.Queue[int] = asyncio.Queue()
    q.put_nowait(1)
    loop = asyncio.get_running_loop()
    loop.call_later(0.01, q.put_nowait, 2)
    w = await next_window(q, Batch(max_size=2, within=5, eager=False))
    assert (w.items, w.reason) == ([1, 2], "size")
