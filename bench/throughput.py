"""Throughput: a raw aiokafka consume->decode->produce->commit loop against an agentstream
agent doing the same work, on the same broker and topic layout, in one invocation.

    python -m bench.throughput --messages 200000 --partitions 1 --size 200 --rounds 3

Both read the same pre-produced input (CloudEvents headers, JSON values), decode each value,
produce one JSON result per input (acks=all, idempotent producer, same linger) and commit.
The rate is counted from the first result to the last one acknowledged in the output topic.
Each round fills fresh topics and runs both; the medians over the rounds are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import fill, producer, run
from config import KafkaSettings, Settings
from schemas import Envelope, Message
from streams import App, Batch, Context
from streams.connection import client_kwargs, ensure_topics
from streams.faust_source import FETCH_MAX_WAIT_MS
from streams.worker import tune_gc


class Payload(Message):
    message_type = "bench.Payload"
    id: int
    body: str


class Result(Message):
    message_type = "bench.Result"
    id: int
    size: int


async def fill_payloads(kafka: KafkaSettings, topic: str, n: int, size: int) -> None:
    body = "x" * max(0, size - 40)
    await fill(
        kafka,
        topic,
        (
            (
                b"%d" % (i % 1000),
                Payload(id=i, body=body).model_dump_json().encode(),
                Envelope.new(Payload.message_type, "bench").to_headers(),
            )
            for i in range(n)
        ),
    )


async def watch(kafka: KafkaSettings, topic: str, partitions: int, n: int) -> float:
    """Seconds from the first result to the n-th, read off the output's end offsets."""
    consumer = AIOKafkaConsumer(**client_kwargs(kafka))
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    try:
        first: tuple[float, int] | None = None
        while True:
            done = sum((await consumer.end_offsets(tps)).values())
            now = time.perf_counter()
            if first is None and done > 0:
                first = (now, done)
            if done >= n and first is not None:
                return (now - first[0]) / max(1, n - first[1]) * n
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()


async def raw_loop(
    kafka: KafkaSettings, src: str, dst: str, group: str, stop: asyncio.Event
) -> None:
    consumer = AIOKafkaConsumer(
        src, group_id=group, enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_records=2000, fetch_max_wait_ms=FETCH_MAX_WAIT_MS, **client_kwargs(kafka),
    )  # fmt: skip
    prod = producer(kafka)
    await consumer.start()
    await prod.start()
    try:
        while not stop.is_set():
            batches = await consumer.getmany(timeout_ms=100)
            futures = []
            for records in batches.values():
                for r in records:
                    msg = orjson.loads(r.value)
                    out = orjson.dumps({"id": msg["id"], "size": len(r.value)})
                    futures.append(await prod.send(dst, out, key=r.key, headers=list(r.headers)))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await prod.stop()


async def measure(run: Callable[[asyncio.Event], Coroutine[Any, Any, None]], kafka: KafkaSettings,
                  dst: str, partitions: int, n: int) -> tuple[float, float]:  # fmt: skip
    """Messages per second, and this process's CPU seconds (all threads) per message."""
    stop = asyncio.Event()
    cpu = time.process_time()
    task = asyncio.create_task(run(stop))
    watcher = asyncio.create_task(watch(kafka, dst, partitions, n))
    try:
        await asyncio.wait([task, watcher], return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            watcher.cancel()
            task.result()
            raise RuntimeError("the consumer stopped before all results arrived")
        seconds = watcher.result()
    finally:
        stop.set()
        await task
    return n / seconds, (time.process_time() - cpu) / n


Figures = tuple[float, float]  # messages per second, CPU seconds per message


async def raw_round(kafka: KafkaSettings, args: argparse.Namespace, tag: str) -> Figures:
    src, dst = f"bench-raw-in-{tag}", f"bench-raw-out-{tag}"
    await ensure_topics(kafka, [src, dst], args.partitions)
    await fill_payloads(kafka, src, args.messages, args.size)
    return await measure(
        lambda stop: raw_loop(kafka, src, dst, f"bench-raw-{tag}", stop),
        kafka, dst, args.partitions, args.messages,
    )  # fmt: skip


async def agent_round(settings: Settings, args: argparse.Namespace, tag: str) -> Figures:
    src = f"bench-agent-{tag}"
    app = App(src, settings, partitions=args.partitions)
    batch = Batch(max_size=args.max_size, within=args.within, eager=True)

    @app.agent(src, batch=batch, concurrency=args.concurrency)
    async def handle(msg: Payload, ctx: Context) -> Result:
        return Result(id=msg.id, size=len(msg.body))

    await ensure_topics(settings.kafka, [src, f"{src}.replies"], args.partitions)
    await fill_payloads(settings.kafka, src, args.messages, args.size)

    async def run_agent(stop: asyncio.Event) -> None:
        async with app.running():
            await stop.wait()

    return await measure(run_agent, settings.kafka, f"{src}.replies", args.partitions,
                         args.messages)  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    tune_gc(settings)  # the worker's GC settings, for both contestants
    print(
        f"messages={args.messages:,} size={args.size}B partitions={args.partitions} acks=all "
        f"idempotent=yes linger_ms={settings.kafka.linger_ms} "
        f"fetch_max_wait_ms={FETCH_MAX_WAIT_MS} batch=max_size:{args.max_size},"
        f"within:{args.within}s,eager concurrency={args.concurrency} rounds={args.rounds} "
        f"cores={os.cpu_count()} python={platform.python_version()} loop={args.loop} "
        f"gc_threshold={settings.gc_threshold}",
        flush=True,
    )
    raws: list[Figures] = []
    agents: list[Figures] = []
    for n in range(1, args.rounds + 1):
        # Rounds alternate the contestants, so a slow spell of a shared machine
        # does not fall on one of them only.
        tag = uuid.uuid4().hex[:8]
        raws.append(await raw_round(settings.kafka, args, tag))
        agents.append(await agent_round(settings, args, tag))
        print(f"round {n}: raw {_show(raws[-1])} | agent {_show(agents[-1])} | "
              f"ratio {agents[-1][0] / raws[-1][0]:.2f}", flush=True)  # fmt: skip
    raw, agent = _median(raws), _median(agents)
    print(f"raw aiokafka loop : {_show(raw)}  (median of {args.rounds})")
    print(f"agentstream agent : {_show(agent)}  (median of {args.rounds})")
    print(f"ratio             : {agent[0] / raw[0]:>10.2f}")


def _median(figures: list[Figures]) -> Figures:
    return statistics.median(f[0] for f in figures), statistics.median(f[1] for f in figures)


def _show(f: Figures) -> str:
    return f"{f[0]:>9,.0f} msg/s {f[1] * 1e6:5.1f} us CPU/msg"


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=200, help="approximate value bytes")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--max-size", type=int, default=500)
    parser.add_argument("--within", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
