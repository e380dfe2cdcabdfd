"""Part 2, latency: request/reply through ``Client.ask`` to an agent in 2 worker
processes, at 100/s and at 50% and 90% of the measured peak, beside the floor: a raw
aiokafka ping-pong (2 responder processes) through the same broker, same linger."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bench import asking, plots, procs
from bench.common import delete_topics
from bench.messages import Payload
from bench.pingpong import Requester
from bench.stats import ratio
from bench.suite import Env, Outcome
from bench.targets import Target
from config import Settings
from streams import Client
from streams.connection import ensure_topics
from streams.errors import RequestTimeout
from streams.faust_source import FETCH_MAX_WAIT_MS

WORKERS = 2
PARTITIONS = 4
BODY = "x" * 160
IN_FLIGHT = 256  # outstanding requests while the peak is measured


@contextlib.asynccontextmanager
async def contestants(settings: Settings, tag: str) -> AsyncIterator[dict[str, asking.Ask]]:
    """The agent's workers and the raw responders (with the settings' linger, and with
    none) running; an ``ask`` for each."""
    mailbox, raw, raw0 = f"bench-lat-{tag}", f"bench-lat-{tag}-raw", f"bench-lat-{tag}-raw0"
    eos = f"bench-lat-{tag}-eos"
    env = {"BENCH_MAILBOX": mailbox, "BENCH_PARTITIONS": str(PARTITIONS)}
    eos_env = {**env, "BENCH_MAILBOX": eos, "AGENTSTREAM_GUARANTEE": "exactly_once"}
    await ensure_topics(settings.kafka, [raw, raw0], PARTITIONS)
    kafka0 = settings.kafka.model_copy(update={"linger_ms": 0})
    with (
        procs.workers("bench.apps:mailbox", WORKERS, env) as agents,
        procs.workers("bench.apps:mailbox", WORKERS, eos_env) as eos_agents,
        procs.processes(["-m", "bench.pingpong", raw], WORKERS, {}) as responders,
        procs.processes(["-m", "bench.pingpong", raw0, "0"], WORKERS, {}) as responders0,
    ):
        await agents.ready()
        await eos_agents.ready()
        async with (
            Client(settings, source="bench.latency") as client,
            Requester(settings.kafka, raw) as requester,
            Requester(kafka0, raw0) as requester0,
        ):

            async def agent_ask(i: int) -> object:
                msg = Payload(id=i, body=BODY)
                return await client.ask(mailbox, msg, key=b"%d" % i, timeout=10)

            async def eos_ask(i: int) -> object:
                msg = Payload(id=i, body=BODY)
                return await client.ask(eos, msg, key=b"%d" % i, timeout=10)

            asks: dict[str, asking.Ask] = {
                "agentstream": agent_ask, "raw": requester.ask, "raw-linger0": requester0.ask,
                "agentstream-exactly-once": eos_ask,
            }  # fmt: skip
            for name, ask in asks.items():
                await _answered(ask, name)
            responders.check()
            responders0.check()
            yield asks
    await delete_topics(settings.kafka, f"bench-lat-{tag}")


async def _answered(ask: asking.Ask, name: str, wait: float = 120.0) -> None:
    """Ask until one answer comes (the responders' group is assigned), then warm up."""
    deadline = asyncio.get_running_loop().time() + wait
    while True:
        try:
            await asyncio.wait_for(ask(0), 2.0)
            break
        except (RequestTimeout, TimeoutError):
            if asyncio.get_running_loop().time() > deadline:
                raise
    await asyncio.gather(*(ask(i) for i in range(200)))
    print(f"{name}: answering", flush=True)


async def run(env: Env) -> Outcome:
    seconds = env.size(3.0, 15.0)
    peak_seconds = env.size(3.0, 10.0)
    env.announce(
        workers=WORKERS, partitions=PARTITIONS, value_bytes=len(BODY) + 20, seconds=seconds,
        peak_in_flight=IN_FLIGHT, peak_seconds=peak_seconds, acks="all", idempotent=True,
        linger_ms=env.settings.kafka.linger_ms, fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        agent_window=f"max_size:{env.settings.batch.max_size},"
        f"within:{env.settings.batch.within}s,eager",
        floor="raw aiokafka ping-pong, 2 responder processes; also with linger 0 at 100/s",
    )  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    rows: list[dict[str, Any]] = []
    async with contestants(env.settings, tag) as asks:
        peak = await asking.closed_loop(asks["agentstream"], IN_FLIGHT, peak_seconds, 10**6)
        print(f"agentstream peak: {peak:,.0f} requests/s with {IN_FLIGHT} outstanding")
        rates = [100.0, round(peak * 0.5), round(peak * 0.9)]
        for n, rate in enumerate(rates):
            # The linger-0 ping-pong (the transport's own floor) and the exactly-once agent
            # at 100/s only.
            names = list(asks) if rate == 100.0 else ["agentstream", "raw"]
            for name in names if n % 2 == 0 else list(reversed(names)):
                asked = await asking.paced(asks[name], rate, seconds, 10**7 * (n + 2))
                print(f"{name:<12} {asked.line()}", flush=True)
                rows.append({"contestant": name, "share_of_peak": [None, 0.5, 0.9][n],
                             **asked.figures()})  # fmt: skip
    at100 = {r["contestant"]: r["ms"] for r in rows if r["rate"] == 100.0}
    return Outcome(
        {"peak_per_s": peak, "rates": rates, "rows": rows},
        [
            Target("latency.p50_vs_floor", "agentstream p50 / raw ping-pong p50 at 100/s",
                   ratio(at100["agentstream"]["p50"], at100["raw"]["p50"]), "<=", 1.5, "x"),
            Target("latency.p99_100", "agentstream p99 at 100/s",
                   at100["agentstream"]["p99"], "<=", 25.0, " ms"),
        ],
    )  # fmt: skip


def plot(payload: dict[str, Any], path: Path) -> None:
    rows = payload["results"]["rows"]
    with plots.figure(path, payload, panels=len(payload["results"]["rates"])) as axes:
        for ax, rate in zip(axes, payload["results"]["rates"], strict=False):
            names = ("agentstream", "raw", "raw-linger0")
            for shift, name in enumerate(names):
                row = next((r for r in rows if r["rate"] == rate and r["contestant"] == name), None)
                if row is None:
                    continue
                xs = [i + shift * 0.27 for i in range(4)]
                values = [row["ms"][k] or 0 for k in ("p50", "p95", "p99", "max")]
                shade = plots.color(name) if shift < 2 else "#d0d7de"
                ax.bar(xs, values, width=0.27, color=shade, label=name)
            ax.set_xticks([i + 0.27 for i in range(4)], ["p50", "p95", "p99", "max"])
            plots.log_scale(ax)
            ax.set_ylabel("ms, request to reply")
            ax.set_title(f"{rate:,.0f} requests/s", fontsize=9)
            if rate == 100.0:
                plots.limit(ax, 25.0, "p99 target 25 ms")
            ax.legend(fontsize=8)
