"""Windows close at max_size, at within, and eagerly when nothing more is buffered;
same-key order holds under concurrency 32."""

from __future__ import annotations

import asyncio
import random
import time

from config import Settings
from schemas import Message
from streams import App, Batch, Context
from tests.integration.helpers import collect, event, produce


class Tick(Message):
    key: str
    seq: int


class Tock(Message):
    key: str
    seq: int


def _ticks(n: int, keys: int) -> list[tuple[bytes, bytes, list[tuple[str, bytes]]]]:
    out = []
    for i in range(n):
        key = f"k{i % keys}"
        value, headers = event(Tick(key=key, seq=i))
        out.append((key.encode(), value, headers))
    return out


async def test_windows_close_at_max_size(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic, batch=Batch(max_size=50, within=10, eager=False))
    async def tock(msg: Tick, ctx: Context) -> Tock:
        return Tock(key=msg.key, seq=msg.seq)

    await produce(settings, topic, _ticks(500, 5))  # all buffered before the agent starts
    async with app.running():
        assert len(await collect(settings, f"{topic}.replies", 500)) == 500
        closes = app.loops["tock"].closes
    assert closes["size"] == 10
    assert set(closes) == {"size"}


async def test_window_closes_at_within_when_not_eager(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic, batch=Batch(max_size=100, within=0.3, eager=False))
    async def tock(msg: Tick, ctx: Context) -> Tock:
        return Tock(key=msg.key, seq=msg.seq)

    async with app.running():
        await produce(settings, topic, _ticks(1, 1))
        assert len(await collect(settings, f"{topic}.replies", 1)) == 1
        assert dict(app.loops["tock"].closes) == {"time": 1}


async def test_lone_event_closes_eagerly(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic, batch=Batch(max_size=100, within=5.0, eager=True))
    async def tock(msg: Tick, ctx: Context) -> Tock:
        return Tock(key=msg.key, seq=msg.seq)

    async with app.running():
        await asyncio.sleep(1)  # let the consumer join before timing
        started = time.monotonic()
        await produce(settings, topic, _ticks(1, 1))
        assert len(await collect(settings, f"{topic}.replies", 1)) == 1
        elapsed = time.monotonic() - started
        assert dict(app.loops["tock"].closes) == {"eager": 1}
    print(f"lone event round trip with eager close: {elapsed * 1000:.0f} ms (within=5 s)")


async def test_same_key_order_under_concurrency_32(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings, partitions=3)
    handled: dict[str, list[int]] = {}
    running = peak = 0

    @app.agent(topic, batch=Batch(max_size=200, within=0.2), concurrency=32)
    async def tock(msg: Tick, ctx: Context) -> Tock:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(random.random() / 500)
        handled.setdefault(msg.key, []).append(msg.seq)
        running -= 1
        return Tock(key=msg.key, seq=msg.seq)

    n = 3000
    await produce(settings, topic, _ticks(n, 40))
    async with app.running():
        replies = await collect(settings, f"{topic}.replies", n)
    assert len(replies) == n
    assert peak > 1, "different keys ran in parallel"
    assert peak <= 32
    for key, seqs in handled.items():
        assert seqs == sorted(seqs), key
    published: dict[bytes, list[int]] = {}
    for r in replies:  # replies keep the input key, so one key is one reply partition
        published.setdefault(r.key, []).append(Tock.model_validate_json(r.value).seq)
    for key, seqs in published.items():
        assert seqs == sorted(seqs), key
