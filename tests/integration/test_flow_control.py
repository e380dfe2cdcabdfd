"""Flow control: events flow through an agent continuously instead of window by window.

Same-key order and one result per event hold while events keep arriving; a slow handler
call delays only its own key, not the rest of its window; and an agent swamped with a
backlog far past its inbox does not starve another agent of the same app."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import math
import random
import time

import pytest
from aiokafka.partitioner import DefaultPartitioner

from config import Settings
from streams import App, Batch, Client, Context, RequestTimeout, UnknownTopic
from tests.integration.helpers import collect, event, produce
from tests.integration.test_windows import Tick, Tock


def _tick(key: str, seq: int) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    value, headers = event(Tick(key=key, seq=seq))
    return key.encode(), value, headers


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_same_key_order_and_one_result_per_event_under_continuous_flow(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings, partitions=3)
    arrived: dict[str, list[int]] = collections.defaultdict(list)

    @app.agent(topic, batch=Batch(max_size=20, within=0.05), concurrency=32)
    async def tock(msg: Tick, ctx: Context) -> Tock:
        arrived[msg.key].append(msg.seq)
        await asyncio.sleep(random.random() * 0.02)
        return Tock(key=msg.key, seq=msg.seq)

    n, keys, bursts = 3000, 50, 10
    ticks = [_tick(f"k{i % keys}", i) for i in range(n)]
    per_burst = n // bursts
    started = time.monotonic()
    async with app.running():
        for b in range(bursts):  # in bursts while the agent runs, not all buffered up front
            await produce(settings, topic, ticks[b * per_burst : (b + 1) * per_burst])
            await asyncio.sleep(random.uniform(0.05, 0.3))
        replies = await collect(settings, f"{topic}.replies", n, wait=60)
        elapsed = time.monotonic() - started
        await asyncio.sleep(1)  # anything published twice would be there by now
        replies = await collect(settings, f"{topic}.replies", n + 1, wait=3)

    tocks = [(r.key, Tock.model_validate_json(r.value)) for r in replies]
    counts = collections.Counter(t.seq for _, t in tocks)
    print(
        f"{n} events over {keys} keys in {bursts} bursts: {len(replies)} results, "
        f"{len(counts)} distinct, {elapsed:.1f} s"
    )
    assert set(counts) == set(range(n)), f"{n - len(counts)} events without a result"
    assert [s for s, c in counts.items() if c > 1] == [], "events with more than one result"
    published: dict[bytes | None, list[int]] = collections.defaultdict(list)
    for key, t in tocks:  # one key, one reply partition: read order is publish order
        assert key == t.key.encode()
        published[key].append(t.seq)
    for key, seqs in published.items():
        assert seqs == sorted(seqs), f"results of {key!r} out of order"
    for key, seqs in arrived.items():
        assert seqs == sorted(seqs), f"handler calls of {key!r} out of order"


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_a_slow_call_does_not_hold_back_the_rest_of_its_window(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)  # one partition everywhere: offsets give the order

    @app.agent(topic, batch=Batch(max_size=100, within=1.0), concurrency=64)
    async def tock(msg: Tick, ctx: Context) -> Tock:
        await asyncio.sleep(2.0 if msg.key == "slow" else 0.05)
        return Tock(key=msg.key, seq=msg.seq)

    others = 600
    async with app.running():
        await produce(settings, topic, [_tick("warm", -1)])  # the consumer has joined
        assert len(await collect(settings, f"{topic}.replies", 1, wait=60)) == 1
        started = time.monotonic()
        await produce(settings, topic, [_tick("slow", 0)])
        await produce(settings, topic, [_tick(f"o{i}", i + 1) for i in range(others)])
        replies = await collect(settings, f"{topic}.replies", others + 2, wait=60)
        elapsed = time.monotonic() - started

    assert {r.partition for r in replies} == {0}
    order = [Tock.model_validate_json(r.value).key for r in sorted(replies, key=lambda r: r.offset)]
    assert len(order) == others + 2, f"{len(order)} of {others + 2} results"
    assert order.count("slow") == 1
    before = sum(1 for k in order[: order.index("slow")] if k.startswith("o"))
    print(
        f"{before} of {others} fast results were published before the 2 s call's result "
        f"({elapsed:.2f} s for all)"
    )
    assert before >= 500, f"only {before} of {others} other results came before the slow one"


@pytest.mark.slow
@pytest.mark.serial  # its bound is a latency: measured on a machine doing nothing else
@pytest.mark.timeout(90)
async def test_a_swamped_agent_does_not_starve_another_agent_of_the_app(
    settings: Settings, topic: str
) -> None:
    slow_mailbox, fast_mailbox = f"{topic}-a", f"{topic}-b"
    app = App(f"app-{topic}", settings)
    release = asyncio.Event()  # set at the end, so draining A does not take minutes

    @app.agent(slow_mailbox, name="swamped", batch=Batch(max_size=8, within=0.1), concurrency=4)
    async def swamped(msg: Tick, ctx: Context) -> Tock:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2.0):
                await release.wait()
        return Tock(key=msg.key, seq=msg.seq)

    @app.agent(fast_mailbox, name="quick", batch=Batch(max_size=100, within=0.05))
    async def quick(msg: Tick, ctx: Context) -> Tock:
        return Tock(key=msg.key, seq=msg.seq)

    flood = 20_000
    latencies: list[float | None] = []
    async with app.running(), Client(settings) as client:
        try:
            await _first_answer(client, fast_mailbox)
            await produce(settings, slow_mailbox, [_tick(f"a{i % 64}", i) for i in range(flood)])
            await asyncio.sleep(3)  # A's backlog is now far past its inbox's 4,096 records

            async def timed(i: int) -> float | None:
                sent = time.perf_counter()
                try:
                    await client.ask(fast_mailbox, Tick(key=f"b{i}", seq=i), timeout=5)
                except RequestTimeout:
                    return None
                return time.perf_counter() - sent

            asks = []
            for i in range(100):
                asks.append(asyncio.create_task(timed(i)))
                await asyncio.sleep(0.02)
            latencies = list(await asyncio.gather(*asks))
        finally:
            release.set()  # before the app drains

    answered = sorted(x for x in latencies if x is not None)
    p50, p99 = _percentile(answered, 50), _percentile(answered, 99)
    print(
        f"while A sits on {flood} events (2 s each, concurrency 4): B answered "
        f"{len(answered)}/100, p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {(answered[-1] if answered else math.nan) * 1000:.1f} ms"
    )
    assert len(answered) == 100, f"B answered {len(answered)} of 100 within 5 s"
    assert p99 < 0.100, f"B's p99 send-to-reply latency is {p99 * 1000:.1f} ms"


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_a_stuck_partition_holds_back_only_itself(settings: Settings, topic: str) -> None:
    """A slow key's partition cannot be committed past its unfinished head, so every record
    taken behind it stays uncommitted. That partition is paused on its own at its share of
    the backlog, while the other partitions keep flowing (without it, the stuck partition
    filled the agent-wide backlog and stopped intake for all of them)."""
    partitions, backlog, slow_calls = 4, 200, 6
    app = App(f"app-{topic}", settings, partitions=partitions)
    held_max = 0

    @app.agent(topic, batch=Batch(max_size=20, within=0.05), concurrency=64, backlog=backlog)
    async def tock(msg: Tick, ctx: Context) -> Tock:
        await asyncio.sleep(1.0 if msg.key == "slow" else 0.001)
        return Tock(key=msg.key, seq=msg.seq)

    stuck = _partition(b"slow", partitions)
    others = [_tick(f"k{i}", i) for i in range(3000)]
    in_stuck = sum(1 for key, _, _ in others if _partition(key, partitions) == stuck)
    async with app.running():
        await produce(settings, topic, [_tick("slow", -1 - i) for i in range(slow_calls)])
        await produce(settings, topic, others)
        acks = app.loops["tock"].acks

        async def sample() -> None:
            nonlocal held_max
            while True:
                held_max = max(held_max, acks.holding(stuck))
                await asyncio.sleep(0.01)

        sampler = asyncio.create_task(sample())
        try:
            replies = await collect(settings, f"{topic}.replies", len(others) + slow_calls)
        finally:
            sampler.cancel()

    done_at: dict[str, int] = {}
    for r in replies:
        t = Tock.model_validate_json(r.value)
        done_at[t.key] = max(done_at.get(t.key, 0), r.timestamp)
    slow_done = done_at.pop("slow")
    late = [k for k, ts in done_at.items() if ts >= slow_done]
    late_elsewhere = [k for k in late if _partition(k.encode(), partitions) != stuck]
    print(
        f"{len(others)} other events, {in_stuck} of them behind the slow key in partition "
        f"{stuck}: {len(late)} done after the slow key ({len(late_elsewhere)} of other "
        f"partitions); the stuck partition held at most {held_max} uncommitted records"
    )
    assert len(done_at) == len(others), f"{len(others) - len(done_at)} events without a result"
    assert late_elsewhere == [], f"{len(late_elsewhere)} events of other partitions waited"
    assert held_max <= backlog // partitions + 20, held_max  # its share, and one window


def _partition(key: bytes, partitions: int) -> int:
    """The partition the producer's default partitioner gives ``key``."""
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))


async def _first_answer(client: Client, mailbox: str) -> None:
    """The app's consumer joins its group within a few seconds; ask until it answers."""
    for _ in range(30):
        try:
            await client.ask(mailbox, Tick(key="warm", seq=-1), timeout=2)
        except (RequestTimeout, UnknownTopic):
            continue
        return
    raise AssertionError(f"{mailbox} never answered")


def _percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest rank; NaN for no values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[rank - 1]
