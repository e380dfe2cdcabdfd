"""Throughput: a raw aiokafka consume->decode->produce->commit loop against an agentstream
agent doing the same work, on the same broker and topic layout, in one invocation.

    python -m bench.throughput --messages 200000 --partitions 1 --size 200

Both read the same pre-produced input (CloudEvents headers, JSON values), decode each value,
produce one JSON result per input (acks=all, idempotent producer, same linger) and commit.
The rate is counted from the first result to the last one acknowledged in the output topic.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from config import KafkaSettings, Settings
from schemas import Envelope, Message
from streams import App, Batch, Context
from streams.connection import client_kwargs, ensure_topics
from streams.worker import tune_gc


class Payload(Message):
    message_type = "bench.Payload"
    id: int
    body: str


class Result(Message):
    message_type = "bench.Result"
    id: int
    size: int


def producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_bytes,
        **client_kwargs(kafka),
    )


async def fill(kafka: KafkaSettings, topic: str, n: int, size: int) -> None:
    body = "x" * max(0, size - 40)
    prod = producer(kafka)
    await prod.start()
    try:
        pending = []
        for i in range(n):
            env = Envelope.new(Payload.message_type, "bench")
            value = Payload(id=i, body=body).model_dump_json().encode()
            pending.append(
                await prod.send(topic, value, key=b"%d" % (i % 1000), headers=env.to_headers())
            )
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await prod.stop()


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
        max_poll_records=2000, **client_kwargs(kafka),
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


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    kafka = settings.kafka
    tag = uuid.uuid4().hex[:8]
    raw_in, raw_out, agent_in = f"bench-raw-in-{tag}", f"bench-raw-out-{tag}", f"bench-agent-{tag}"
    agent_out = f"{agent_in}.replies"
    await ensure_topics(kafka, [raw_in, raw_out, agent_in, agent_out], args.partitions)
    print(f"filling {args.messages:,} messages x2 ...", flush=True)
    await fill(kafka, raw_in, args.messages, args.size)
    await fill(kafka, agent_in, args.messages, args.size)

    tune_gc(settings)  # the worker's GC settings, for both contestants
    raw, raw_cpu = await measure(
        lambda stop: raw_loop(kafka, raw_in, raw_out, f"bench-raw-{tag}", stop),
        kafka, raw_out, args.partitions, args.messages,
    )  # fmt: skip

    batch = Batch(max_size=args.max_size, within=args.within, eager=True)
    app = App(f"bench-agent-{tag}", settings, partitions=args.partitions)

    @app.agent(agent_in, batch=batch, concurrency=args.concurrency)
    async def handle(msg: Payload, ctx: Context) -> Result:
        return Result(id=msg.id, size=len(msg.body))

    async def run_agent(stop: asyncio.Event) -> None:
        async with app.running():
            await stop.wait()

    agent, agent_cpu = await measure(run_agent, kafka, agent_out, args.partitions, args.messages)
    print(
        f"messages={args.messages:,} size={args.size}B partitions={args.partitions} acks=all "
        f"idempotent=yes linger_ms={kafka.linger_ms} batch=max_size:{args.max_size},"
        f"within:{args.within}s,eager concurrency={args.concurrency} "
        f"cores={os.cpu_count()} python={platform.python_version()} loop={args.loop} "
        f"gc_threshold={settings.gc_threshold}"
    )
    print(f"raw aiokafka loop : {raw:>10,.0f} msg/s  {raw_cpu * 1e6:6.1f} us CPU/msg")
    print(f"agentstream agent : {agent:>10,.0f} msg/s  {agent_cpu * 1e6:6.1f} us CPU/msg")
    print(f"ratio             : {agent / raw:>10.2f}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=200, help="approximate value bytes")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--max-size", type=int, default=500)
    parser.add_argument("--within", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
