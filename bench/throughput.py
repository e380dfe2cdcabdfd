"""Throughput: the same work done by an agentstream agent, a raw aiokafka loop and the
peers (faust-streaming ``take``, a FastStream batch subscriber), on the same broker and
topic layout, in one invocation; Kafka's own perf-test tools as the ceiling.

    python -m bench.throughput --messages 200000 --partitions 1 --rounds 3
    python -m bench.throughput --contestants raw agentstream faust-take faststream-batch

Every contestant reads the same pre-produced input (CloudEvents headers, JSON values),
parses and validates each value (``streams.codec.parse``, what the agent does), writes
one JSON result with fresh CloudEvents headers per input, and commits. The rate is
counted from the first result to the last one acknowledged in the output topic.
Each round fills fresh topics and runs every contestant, starting with a different one
each round; the medians over the rounds are compared.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench import peers
from bench.common import delete_topics, producer, run
from bench.messages import Payload, Result, fill_payloads
from config import KafkaSettings, Settings
from schemas import Envelope
from streams import App, Batch, Context
from streams.app import Guarantee
from streams.codec import encode, parse
from streams.connection import client_kwargs, ensure_topics
from streams.faust_source import FETCH_MAX_WAIT_MS
from streams.worker import tune_gc

Contestant = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
Builder = Callable[[Settings, argparse.Namespace, str, str], Contestant]


@dataclass
class Watched:
    """When the first result landed (clock and this process's CPU) and how many had."""

    seconds: float = 0.0  # first result to the n-th, scaled to n results
    first_cpu: float = 0.0
    first_done: int = 0


async def watch(
    kafka: KafkaSettings, topic: str, partitions: int, n: int, group: str | None = None
) -> Watched:
    """Read the output's end offsets until they reach ``n``; with ``group``, the group's
    committed offsets of ``topic`` (the input) instead: a transactional output's end
    offsets also count the transactions' commit markers, and an exactly-once app commits
    its input offsets in the same transaction as its results."""
    consumer = AIOKafkaConsumer(group_id=group, enable_auto_commit=False, **client_kwargs(kafka))
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    seen = Watched()
    try:
        first: float | None = None
        while True:
            if group is None:
                done = sum((await consumer.end_offsets(tps)).values())
            else:
                done = sum([await consumer.committed(tp) or 0 for tp in tps])
            now = time.perf_counter()
            if first is None and done > 0:
                first, seen.first_cpu, seen.first_done = now, time.process_time(), done
            if done >= n and first is not None:
                if seen.first_done >= n:
                    raise RuntimeError(
                        f"all {n} results landed between two polls of 20 ms: too few to time"
                    )
                seen.seconds = (now - first) / max(1, n - seen.first_done) * n
                return seen
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()


async def raw_loop(settings: Settings, src: str, dst: str, group: str, stop: asyncio.Event) -> None:
    kafka, limits = settings.kafka, settings.limits
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
                    msg = parse(Payload, r.value, limits.max_message_bytes, limits.max_json_depth)
                    out = encode(Result(id=msg.id, size=len(msg.body)))
                    headers = Envelope.new(Result.message_type, "bench").to_headers()
                    futures.append(await prod.send(dst, out, key=r.key, headers=headers))
            if futures:
                await asyncio.gather(*futures)
                await consumer.commit()
    finally:
        await consumer.stop()
        await prod.stop()


def agent(
    settings: Settings,
    args: argparse.Namespace,
    src: str,
    dst: str,
    guarantee: Guarantee = "at_least_once",
) -> Contestant:
    app = App(src, settings, partitions=args.partitions, guarantee=guarantee)
    batch = Batch(max_size=args.max_size, within=args.within, eager=True)

    @app.agent(src, reply_to=dst, batch=batch, concurrency=args.concurrency)
    async def handle(msg: Payload, ctx: Context) -> Result:
        return Result(id=msg.id, size=len(msg.body))

    return running(app)


def running(app: App) -> Contestant:
    """The app started, until ``stop`` is set; then drained and stopped."""

    async def run_app(stop: asyncio.Event) -> None:
        async with app.running():
            await stop.wait()

    return run_app


def _peer(make: Callable[..., Contestant], same: bool) -> Builder:
    def build(settings: Settings, args: argparse.Namespace, src: str, dst: str) -> Contestant:
        return make(settings, src, dst, f"{src}-group", same, args.max_size)

    return build


CONTESTANTS: dict[str, Builder] = {
    "raw": lambda s, a, src, dst: lambda stop: raw_loop(s, src, dst, f"{src}-group", stop),
    "agentstream": agent,
    "agentstream-exactly-once": lambda s, a, src, dst: agent(s, a, src, dst, "exactly_once"),
    "faust-take": _peer(peers.faust_take, True),
    "faust-take-defaults": _peer(peers.faust_take, False),
    "faststream-batch": _peer(peers.faststream_batch, True),
    "faststream-batch-defaults": _peer(peers.faststream_batch, False),
}
#: Contestants whose results are transactional: done when their input offsets are.
TRANSACTIONAL = ("agentstream-exactly-once",)
#: The peers that run with the agent's producer guarantees (acks=all, idempotent).
SAME_GUARANTEES = ("faust-take", "faststream-batch")


async def measure(run: Contestant, kafka: KafkaSettings, dst: str, partitions: int, n: int,
                  limit: float, committed: tuple[str, str] | None = None,
                  ) -> tuple[float, float]:  # fmt: skip
    """Messages per second, and this process's CPU seconds (all threads) per message from
    the first result on (start-up and the group join are not counted). ``committed``:
    (input topic, group) whose committed offsets count instead of the output's."""
    stop = asyncio.Event()
    task = asyncio.create_task(run(stop))
    if committed is None:
        watcher = asyncio.create_task(watch(kafka, dst, partitions, n))
    else:
        watcher = asyncio.create_task(watch(kafka, committed[0], partitions, n, committed[1]))
    try:
        await asyncio.wait([task, watcher], timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()
            raise RuntimeError("the consumer stopped before all results arrived")
        if not watcher.done():
            raise TimeoutError(f"not all {n} results arrived within {limit:.0f}s")
        seen = watcher.result()
        cpu = (time.process_time() - seen.first_cpu) / max(1, n - seen.first_done)
    finally:
        watcher.cancel()
        stop.set()
        await task
    return n / seen.seconds, cpu


Figures = tuple[float, float]  # messages per second, CPU seconds per message


async def one_round(settings: Settings, args: argparse.Namespace, name: str) -> Figures:
    build = CONTESTANTS[name]
    return await timed_round(settings, args, f"bench-tp-{name}", build, name in TRANSACTIONAL)


async def timed_round(
    settings: Settings,
    args: argparse.Namespace,
    prefix: str,
    build: Builder,
    transactional: bool = False,
) -> Figures:
    """Fresh topics, filled with ``args.messages`` payloads; then the contestant until
    every result is acknowledged; then the topics are deleted."""
    prefix = f"{prefix}-{uuid.uuid4().hex[:8]}"
    src, dst = prefix, f"{prefix}.replies"
    await ensure_topics(settings.kafka, [src, dst], args.partitions)
    try:
        await fill_payloads(settings.kafka, src, args.messages, args.size)
        contestant = build(settings, args, src, dst)
        committed = (src, src) if transactional else None  # the app id is the group
        return await measure(contestant, settings.kafka, dst, args.partitions, args.messages,
                             args.timeout, committed)  # fmt: skip
    finally:
        await delete_topics(settings.kafka, prefix)


def rotated(names: list[str], n: int) -> list[str]:
    """The contestants in round ``n``'s order: each round starts with the next one, so a
    slow spell of a shared machine does not fall on the same contestant every time."""
    k = n % len(names) if names else 0
    return names[k:] + names[:k]


async def rounds(settings: Settings, args: argparse.Namespace) -> dict[str, list[Figures]]:
    figures: dict[str, list[Figures]] = {name: [] for name in args.contestants}
    for n in range(args.rounds):
        for name in rotated(args.contestants, n):
            try:
                figures[name].append(await one_round(settings, args, name))
            except Exception as e:  # noqa: BLE001 - a broken contestant is reported
                print(f"round {n + 1} {name}: FAILED {type(e).__name__}: {e}", flush=True)
                continue
            print(f"round {n + 1} {name:<26} {show(figures[name][-1])}", flush=True)
    return figures


def median(figures: list[Figures]) -> Figures | None:
    if not figures:
        return None
    return statistics.median(f[0] for f in figures), statistics.median(f[1] for f in figures)


def show(f: Figures | None) -> str:
    return "no complete run" if f is None else f"{f[0]:>9,.0f} msg/s {f[1] * 1e6:5.1f} us CPU/msg"


def conditions(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "messages": args.messages, "value_bytes": args.size, "partitions": args.partitions,
        "acks": "all", "idempotent": True, "linger_ms": settings.kafka.linger_ms,
        "max_batch_bytes": settings.kafka.max_batch_bytes,
        "fetch_max_wait_ms": FETCH_MAX_WAIT_MS,
        "window": f"max_size:{args.max_size},within:{args.within}s,eager",
        "concurrency": args.concurrency, "rounds": args.rounds, "contestants": args.contestants,
        "peer_defaults": "faust: acks=-1, no idempotence, linger 0; FastStream: aiokafka "
        "defaults (acks=1, no idempotence, linger 0), commit on receipt (ack_first)",
        "gc_threshold": settings.gc_threshold,
    }  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    tune_gc(settings)  # the worker's GC settings, for every contestant
    print(" ".join(f"{k}={v}" for k, v in conditions(settings, args).items()), flush=True)
    figures = await rounds(settings, args)
    print()
    for name, f in figures.items():
        print(f"{name:<26}: {show(median(f))}  (median of {len(f)})")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--size", type=int, default=200, help="approximate value bytes")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--max-size", type=int, default=500)
    parser.add_argument("--within", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument("--contestants", nargs="+", choices=list(CONTESTANTS),
                        default=["raw", "agentstream"])  # fmt: skip
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
