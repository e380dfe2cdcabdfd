"""Part 7, memory: resident memory (RSS, /proc) of one worker process at idle, under
load, and with a stalled downstream: a handler that sleeps far longer than the phase
while events keep arriving at a steady rate. Bounded means the RSS stops growing once
the agent holds its backlog and its partitions are paused: the growth over the second
half of the stall is compared with the first half's peak."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import plots, procs
from bench.common import delete_topics, producer
from bench.messages import fill_payloads, payload_record
from bench.suite import Env, Outcome
from bench.targets import Target
from bench.throughput import watch
from config import Settings
from streams.connection import ensure_topics

MiB = 1024 * 1024
PARTITIONS = 4
STALL_SLEEP = 50.0  # seconds per handler call: longer than any stall phase
SAMPLE = 0.25


def late_growth(values: list[float]) -> float:
    """How far the second half's peak rose above the first half's (0 if it did not)."""
    if len(values) < 2:
        return 0.0
    half = len(values) // 2
    return max(0.0, max(values[half:]) - max(values[:half]))


def growth_limit(values: list[float]) -> float:
    """The growth still counted as flat: 8 MiB or 5% of the first half's peak."""
    half = max(1, len(values) // 2)
    return max(8.0, 0.05 * max(values[:half], default=0.0))


async def sample(pid: int, seconds: float, phase: str, out: list[dict[str, Any]],
                 until: Callable[[], bool] | None = None) -> None:  # fmt: skip
    """RSS every ``SAMPLE`` seconds for ``seconds`` (or until ``until()``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and not (until and until()):
        rss = procs.rss_bytes(pid) / MiB
        out.append({"phase": phase, "t": round(time.monotonic(), 3), "rss_mib": rss})
        await asyncio.sleep(SAMPLE)


async def idle_and_load(env: Env, samples: list[dict[str, Any]]) -> None:
    s, messages = env.settings, env.size(20_000, 200_000)
    mailbox = f"bench-mem-{uuid.uuid4().hex[:8]}"
    await ensure_topics(s.kafka, [mailbox, f"{mailbox}.replies"], PARTITIONS)
    env_vars = {"BENCH_MAILBOX": mailbox, "BENCH_PARTITIONS": str(PARTITIONS)}
    try:
        with procs.workers("bench.apps:mailbox", 1, env_vars) as w:
            await w.ready()
            await sample(w.pids[0], env.size(3.0, 15.0), "idle", samples)
            done = asyncio.Event()

            async def load() -> None:
                await fill_payloads(s.kafka, mailbox, messages, 200)
                await watch(s.kafka, f"{mailbox}.replies", PARTITIONS, messages)
                done.set()

            task = asyncio.create_task(load())
            await sample(w.pids[0], 600.0, "load", samples, until=done.is_set)
            await task
            w.check()
    finally:
        await delete_topics(s.kafka, mailbox)


async def paced_send(settings: Settings, topic: str, rate: float, seconds: float) -> int:
    prod = producer(settings.kafka)
    await prod.start()
    sent, t0 = 0, time.monotonic()
    try:
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(elapsed * rate)
            for i in range(sent, due):
                key, value, headers = payload_record(i, 200)
                await prod.send(topic, value, key=key, headers=headers)
            sent = max(sent, due)
            await asyncio.sleep(0.01)
        await prod.flush()
    finally:
        await prod.stop()
    return sent


async def stalled(env: Env, samples: list[dict[str, Any]], rate: float, seconds: float) -> int:
    s = env.settings
    mailbox = f"bench-mem-stall-{uuid.uuid4().hex[:8]}"
    await ensure_topics(s.kafka, [mailbox, f"{mailbox}.replies"], PARTITIONS)
    env_vars = {
        "BENCH_MAILBOX": mailbox,
        "BENCH_PARTITIONS": str(PARTITIONS),
        "BENCH_SLEEP": str(STALL_SLEEP),
        "AGENTSTREAM_LIMITS__SHUTDOWN_TIMEOUT": "1",  # nothing it holds will finish
    }
    try:
        with procs.workers("bench.apps:mailbox", 1, env_vars) as w:
            await w.ready()
            sender = asyncio.create_task(paced_send(s, mailbox, rate, seconds))
            await sample(w.pids[0], 3600.0, "stalled", samples, until=sender.done)
            w.check()
            return await sender
    finally:
        await delete_topics(s.kafka, mailbox)


async def run(env: Env) -> Outcome:
    rate, seconds = env.size(4_000.0, 4_000.0), env.size(12.0, 60.0)
    s = env.settings
    env.announce(
        workers=1, partitions=PARTITIONS, value_bytes=200, load_messages=env.size(20_000, 200_000),
        stall_rate_per_s=rate, stall_seconds=seconds, stall_handler_sleep_s=STALL_SLEEP,
        concurrency=s.batch.concurrency, backlog=s.batch.backlog,
        window=f"max_size:{s.batch.max_size},within:{s.batch.within}s", sample_s=SAMPLE,
    )  # fmt: skip
    samples: list[dict[str, Any]] = []
    await idle_and_load(env, samples)
    sent = await stalled(env, samples, rate, seconds)
    phases = ("idle", "load", "stalled")
    by = {p: [x["rss_mib"] for x in samples if x["phase"] == p] for p in phases}
    stall = by["stalled"]
    results: dict[str, Any] = {
        "idle_rss_mib": max(by["idle"], default=None),
        "load_rss_mib": max(by["load"], default=None),
        "stalled_rss_mib": max(stall, default=None),
        "stalled_sent": sent,
        "stalled_growth_mib": late_growth(stall),
        "stalled_growth_limit_mib": growth_limit(stall),
        "samples": samples,
    }
    peaks = {k: f"{results[f'{k}_rss_mib'] or 0:.0f} MiB" for k in phases}
    print(f"RSS peaks: idle {peaks['idle']}, under load {peaks['load']}, downstream stalled "
          f"{peaks['stalled']} after {sent:,} events (second-half growth "
          f"{results['stalled_growth_mib']:.1f} MiB)")  # fmt: skip
    return Outcome(
        results,
        [
            Target("memory.idle", "RSS of a worker at idle", results["idle_rss_mib"], "<", 150.0,
                   " MiB"),
            Target("memory.stalled_growth", "RSS growth over the second half of a stall",
                   results["stalled_growth_mib"], "<=", results["stalled_growth_limit_mib"],
                   " MiB"),
        ],
    )  # fmt: skip


def plot(payload: dict[str, Any], path: Path) -> None:
    samples = payload["results"]["samples"]
    with plots.figure(path, payload, panels=1) as (ax,):
        t0 = samples[0]["t"] if samples else 0.0
        for phase in ("idle", "load", "stalled"):
            xs = [x["t"] - t0 for x in samples if x["phase"] == phase]
            ax.plot(xs, [x["rss_mib"] for x in samples if x["phase"] == phase], label=phase)
        plots.limit(ax, 150.0, "idle target 150 MiB")
        ax.set_xlabel("seconds (each phase in its own worker process)")
        ax.set_ylabel("RSS, MiB")
        ax.legend(fontsize=8)
