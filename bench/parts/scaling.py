"""Part 5, scaling: 1, 2 and 4 worker processes of one agent on a 12-partition
mailbox, and where the CPU went (/proc: each worker, the broker, Redis, this process,
and the rest of the machine).

Each run starts the workers on a fresh, empty mailbox, freezes them (SIGSTOP) once all
of them hold partitions (``/readyz``), fills the mailbox, releases them together
(SIGCONT) and times them to the last result: no rebalance and no producer share the
measured interval. On a machine with fewer cores than workers
plus the broker the curve flattens: the CPU table says where the time went.
"""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path
from typing import Any

from bench import plots, procs
from bench.common import delete_topics
from bench.messages import fill_payloads
from bench.suite import Env, Outcome
from bench.throughput import watch
from config import Settings
from streams.connection import ensure_topics

PARTITIONS = 12
COUNTS = (1, 2, 4)
SESSION_TIMEOUT = 60.0  # seconds; the workers stay frozen while the mailbox fills


async def one(settings: Settings, count: int, messages: int) -> dict[str, Any]:
    """Workers started on an empty mailbox and frozen (SIGSTOP) once all hold partitions;
    the mailbox filled; the workers released together (SIGCONT) and timed to the last
    result. Their session timeout is raised so the group outlives the freeze."""
    mailbox = f"bench-scale-{count}-{uuid.uuid4().hex[:8]}"
    replies = f"{mailbox}.replies"
    await ensure_topics(settings.kafka, [mailbox, replies], PARTITIONS)
    env = {"BENCH_MAILBOX": mailbox, "BENCH_PARTITIONS": str(PARTITIONS),
           "AGENTSTREAM_KAFKA__SESSION_TIMEOUT": str(SESSION_TIMEOUT)}  # fmt: skip
    try:
        with procs.workers("bench.apps:mailbox", count, env) as workers:
            await workers.ready()
            workers.signal(signal.SIGSTOP)
            try:
                await fill_payloads(settings.kafka, mailbox, messages, 200)
            finally:
                workers.signal(signal.SIGCONT)
            named = {f"worker{i}": pid for i, pid in enumerate(workers.pids)}
            meter = procs.CpuMeter({**named, **procs.services(settings)})
            meter.start()
            t0 = time.monotonic()
            await watch(settings.kafka, replies, PARTITIONS, messages)
            elapsed = time.monotonic() - t0
            spent = meter.stop()
            workers.check()
    finally:
        await delete_topics(settings.kafka, mailbox)
    worker_cpu = sum(v for k, v in spent.items() if k.startswith("worker"))
    return {
        "workers": count, "messages": messages, "seconds": elapsed,
        "msg_per_s": messages / elapsed, "cpu_seconds": spent, "cpu_share": meter.shares(),
        "cpu_us_per_msg_workers": worker_cpu / messages * 1e6,
    }  # fmt: skip


async def run(env: Env) -> Outcome:
    messages = env.size(20_000, 200_000)
    rounds = env.size(1, 2)
    env.announce(
        partitions=PARTITIONS, workers=COUNTS, messages=messages, value_bytes=200,
        rounds=rounds, acks="all", idempotent=True, linger_ms=env.settings.kafka.linger_ms,
        window=f"max_size:{env.settings.batch.max_size},within:{env.settings.batch.within}s",
    )  # fmt: skip
    runs: list[dict[str, Any]] = []
    for n in range(rounds):
        for count in COUNTS if n % 2 == 0 else tuple(reversed(COUNTS)):
            runs.append(await one(env.settings, count, messages))
            print(_line(runs[-1]), flush=True)
    best = {c: max((r for r in runs if r["workers"] == c), key=lambda r: r["msg_per_s"] or 0)
            for c in COUNTS}  # fmt: skip
    return Outcome({"runs": runs, "best": {str(c): r for c, r in best.items()}}, [])


def _line(r: dict[str, Any]) -> str:
    share = ", ".join(f"{k} {v:.0%}" for k, v in sorted(r["cpu_share"].items()))
    return (
        f"{r['workers']} worker(s): {r['msg_per_s']:>9,.0f} msg/s; "
        f"{r['cpu_us_per_msg_workers']:.1f} us worker CPU/msg; CPU, share of one core: {share}"
    )


def plot(payload: dict[str, Any], path: Path) -> None:
    best = payload["results"]["best"]
    counts = sorted(best, key=int)
    with plots.figure(path, payload, panels=2) as (left, right):
        rates = [best[c]["msg_per_s"] for c in counts]
        labels = [f"agentstream, {c} worker(s)" for c in counts]
        plots.bars(left, labels, rates, "messages per second")
        left.set_title("throughput by worker processes (best round)", fontsize=9)
        names = ["workers", "broker", "redis", "bench", "other"]
        bottom = [0.0] * len(counts)
        for name in names:
            values = [
                sum(v for k, v in best[c]["cpu_share"].items()
                    if (k.startswith("worker") if name == "workers" else k == name))
                for c in counts
            ]  # fmt: skip
            right.bar(counts, values, bottom=bottom, label=name)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        right.set_xlabel("worker processes")
        right.set_ylabel(f"cores busy (the machine has {payload['machine'].get('cpus')})")
        right.set_title("where the CPU went", fontsize=9)
        right.legend(fontsize=8)
