"""Part 4, batching: a batch agent (windows of 100 / 1 s) making one bulk call per
window, against the same work unbatched (one call per event, the default concurrency).

Two downstreams: Redis (one pipelined SET per event of the window in one round trip,
against one SET per event), and a simulated bulk API that serves one call at a time (a
single connection committing a transaction per call) costing a fixed 2 ms plus 20 µs per
item. Rounds alternate batched and unbatched on fresh topics; medians are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as aioredis

from bench import plots
from bench.messages import Payload, Result
from bench.stats import ratio
from bench.suite import Env, Outcome
from bench.targets import Target
from bench.throughput import Builder, Contestant, running, timed_round
from config import Settings
from streams import App, Batch, BatchContext, Context
from streams.redis_connect import redis_client

WINDOW = Batch(max_size=100, within=1.0)
FIXED, PER_ITEM = 0.002, 0.000_02
TTL = 300


class Downstream(Protocol):
    async def bulk(self, items: list[Payload]) -> None: ...


class RedisStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client

    async def bulk(self, items: list[Payload]) -> None:
        if len(items) == 1:
            await self.client.set(f"bench:batching:{items[0].id}", items[0].body, ex=TTL)
            return
        pipe = self.client.pipeline(transaction=False)
        for m in items:
            pipe.set(f"bench:batching:{m.id}", m.body, ex=TTL)
        await pipe.execute()


class SimulatedBulk:
    """One call at a time, each ``FIXED + PER_ITEM * items`` seconds."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()

    async def bulk(self, items: list[Payload]) -> None:
        async with self.lock:
            await asyncio.sleep(FIXED + PER_ITEM * len(items))


def batched(store: Downstream) -> Builder:
    def build(settings: Settings, args: argparse.Namespace, src: str, dst: str) -> Contestant:
        app = App(src, settings, partitions=args.partitions)

        @app.agent(src, reply_to=dst, batch=WINDOW)
        async def bulk(batch: list[Payload], ctx: BatchContext) -> list[Result | None]:
            await store.bulk(batch)
            return [Result(id=m.id, size=len(m.body)) for m in batch]

        return running(app)

    return build


def unbatched(store: Downstream) -> Builder:
    def build(settings: Settings, args: argparse.Namespace, src: str, dst: str) -> Contestant:
        app = App(src, settings, partitions=args.partitions)

        @app.agent(src, reply_to=dst)
        async def one(msg: Payload, ctx: Context) -> Result:
            await store.bulk([msg])
            return Result(id=msg.id, size=len(msg.body))

        return running(app)

    return build


async def run(env: Env) -> Outcome:
    s = env.settings
    messages = {"redis": env.size(3_000, 50_000), "simulated": env.size(1_000, 5_000)}
    rounds = env.size(1, 2)
    env.announce(
        messages=messages, value_bytes=200, partitions=4, rounds=rounds,
        window=f"max_size:{WINDOW.max_size},within:{WINDOW.within}s",
        unbatched_concurrency=s.batch.concurrency, unbatched_window="defaults",
        simulated=f"one call at a time, {FIXED * 1e3:g} ms + {PER_ITEM * 1e6:g} us/item",
        redis=s.redis.url, acks="all", idempotent=True, linger_ms=s.kafka.linger_ms,
    )  # fmt: skip
    client = redis_client(s.redis)
    stores: dict[str, Downstream] = {"redis": RedisStore(client), "simulated": SimulatedBulk()}
    rates: dict[str, list[float]] = {}
    try:
        for n in range(rounds):
            for variant, store in stores.items():
                args = argparse.Namespace(messages=messages[variant], size=200, partitions=4,
                                          timeout=env.size(120.0, 600.0))  # fmt: skip
                modes = {"batched": batched(store), "unbatched": unbatched(store)}
                for mode in sorted(modes, reverse=n % 2 == 1):
                    name = f"{variant}-{mode}"
                    rate, cpu = await timed_round(s, args, f"bench-batch-{name}", modes[mode])
                    rates.setdefault(name, []).append(rate)
                    print(f"round {n + 1} {name:<20} {rate:>9,.0f} msg/s "
                          f"{cpu * 1e6:6.1f} us CPU/msg", flush=True)  # fmt: skip
    finally:
        await client.aclose()
    medians = {name: statistics.median(r) for name, r in rates.items()}
    targets = [
        Target(f"batching.{v}", f"batched / unbatched, {v}",
               ratio(medians.get(f"{v}-batched"), medians.get(f"{v}-unbatched")), ">=", 5.0, "x")
        for v in stores
    ]  # fmt: skip
    return Outcome({"msg_per_s": medians, "rounds": rates}, targets)


def plot(payload: dict[str, Any], path: Path) -> None:
    rates = payload["results"]["msg_per_s"]
    variants = sorted({name.split("-")[0] for name in rates})
    with plots.figure(path, payload, panels=len(variants)) as axes:
        for ax, v in zip(axes, variants, strict=True):
            labels = [f"{v}-unbatched", f"{v}-batched"]
            names = ["agentstream, one call per event", "agentstream batch agent, one per window"]
            plots.bars(ax, names, [rates.get(x) for x in labels], "messages per second (median)")
            plots.log_scale(ax)
            ax.set_title(f"{v} downstream", fontsize=9)
