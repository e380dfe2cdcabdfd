"""Model workload: agents whose handlers await a simulated model call (an asyncio.sleep of a
log-normal latency), an agentstream agent against a plain faust-streaming agent.

    python -m bench.model_workload --events 2000 --partitions 4 --concurrency 64 256 \\
        --shape lognormal --rounds 1 --contestants agentstream faust

Latencies: log-normal, median 0.3 s, p99 about 3 s (sigma = ln 10 / 2.326); with
``--shape tail`` 1% of the calls (drawn per event id) take 10 s instead. Each event's
latency comes from ``random.Random(event_id)``, so both contestants sleep the same time for
the same event. Input: JSON values with CloudEvents headers, keys spread over ``--keys``
distinct keys, pre-produced before the contestant starts. Each contestant writes one result
per event (acks=all) carrying the wall-clock start and end of its model call.

Figures per run: throughput = events / time from the first model call (the consumer's
group join before it is not handling) until the output topic's end offsets reach the event
count; the steady rate between the 10th and the 90th percentile of results (no ramp-up, no
tail of the last slow calls), which is what "C calls always in flight" means; the ideal
C / mean latency and the makespan bound max(events * mean / C, max latency) as a rate,
with the fractions reached; per-event time to result (output record CreateTime minus the
contestant's start), queueing (model call start minus start) and delivery overhead (output
record CreateTime minus model call end). CreateTime has millisecond resolution.

The faust contestant is written the way faust's documentation writes agents (``await
topic.send`` per event, faust acknowledges and commits on its own), against the same
broker settings as agentstream's faust app (no topic declaration, no leader topic, acks=all,
idempotent, the same producer linger and batch size: ``bench.peers.faust_app``); it
supports PLAINTEXT brokers only. Unlike agentstream it does not keep events of one key in
order; the per-key chain bound printed with the conditions applies to agentstream only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.common import fill, run
from bench.peers import faust_app
from bench.stats import pct, spread
from config import KafkaSettings, Settings
from schemas import Envelope, Message
from streams import App, Batch, Context, Retry
from streams.connection import client_kwargs, ensure_topics
from streams.worker import tune_gc

MEDIAN = 0.3
SIGMA = math.log(10) / 2.326  # p99 = median * 10
TAIL_SHARE = 0.01
TAIL_SECONDS = 10.0
HANDLER_TIMEOUT = 60.0
RESULTS = Path(__file__).parent / "results"


class Request(Message):
    message_type = "bench.ModelRequest"
    id: int
    prompt: str


class Answer(Message):
    message_type = "bench.ModelAnswer"
    id: int
    started_at: float
    finished_at: float


def latency(event_id: int, shape: str) -> float:
    """The simulated model call's seconds for one event, the same in every process."""
    rng = random.Random(event_id)
    seconds = rng.lognormvariate(math.log(MEDIAN), SIGMA)
    if shape == "tail" and rng.random() < TAIL_SHARE:
        return TAIL_SECONDS
    return seconds


@dataclass(frozen=True)
class Workload:
    latencies: list[float]
    keys: int

    @property
    def mean(self) -> float:
        return statistics.fmean(self.latencies)

    def ideal_rate(self, concurrency: int) -> float:
        """Events per second with C calls always in flight."""
        return concurrency / self.mean

    def bound(self, concurrency: int) -> float:
        """The shortest possible makespan: all work spread over C slots, and no less than
        the longest single call."""
        return max(sum(self.latencies) / concurrency, max(self.latencies))

    def key_chain_bound(self) -> float:
        """The longest sum of latencies of one key's events: the makespan floor of a
        contestant that handles events of a key one after the other."""
        chains = [0.0] * self.keys
        for i, seconds in enumerate(self.latencies):
            chains[i % self.keys] += seconds
        return max(chains)


# -- input and output -------------------------------------------------------------------
async def fill_requests(kafka: KafkaSettings, topic: str, n: int, keys: int) -> None:
    prompt = "x" * 160
    await fill(
        kafka,
        topic,
        (
            (
                b"%d" % (i % keys),
                Request(id=i, prompt=prompt).model_dump_json().encode(),
                Envelope.new(Request.message_type, "bench").to_headers(),
            )
            for i in range(n)
        ),
    )


async def watch(
    kafka: KafkaSettings, topic: str, partitions: int, n: int, alive: Callable[[], None]
) -> float:
    """``time.perf_counter()`` when the output's end offsets reach ``n``."""
    consumer = AIOKafkaConsumer(**client_kwargs(kafka))
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    try:
        while True:
            alive()
            done = sum((await consumer.end_offsets(tps)).values())
            if done >= n:
                return time.perf_counter()
            await asyncio.sleep(0.02)
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Landed:
    """One result as read back: its id, record CreateTime and the model call's times."""

    id: int
    written_at: float
    started_at: float
    finished_at: float


async def read_results(kafka: KafkaSettings, topic: str, partitions: int) -> list[Landed]:
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **client_kwargs(kafka))
    await consumer.start()
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        end = await consumer.end_offsets(tps)
        out: list[Landed] = []
        while len(out) < sum(end.values()):
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    v = orjson.loads(r.value)
                    out.append(
                        Landed(v["id"], r.timestamp / 1000, v["started_at"], v["finished_at"])
                    )
        return out
    finally:
        await consumer.stop()


# -- contestants ------------------------------------------------------------------------
Runner = Callable[[], contextlib.AbstractAsyncContextManager[Callable[[], None]]]


def agentstream_contestant(
    settings: Settings, src: str, dst: str, args: argparse.Namespace, c: int, work: Workload
) -> Runner:
    app = App(src, settings, partitions=args.partitions)
    latencies = work.latencies

    @app.agent(
        src,
        reply_to=dst,
        concurrency=c,
        batch=Batch(max_size=100, within=1.0),
        timeout=HANDLER_TIMEOUT,
        retry=Retry(attempts=1, outage=0),  # the simulated call never fails
    )
    async def model(msg: Request, ctx: Context) -> Answer:
        started = time.time()
        await asyncio.sleep(latencies[msg.id])
        return Answer(id=msg.id, started_at=started, finished_at=time.time())

    def alive() -> None:
        if app.crashed is not None and app.crashed.done():
            app.crashed.result()  # raises the crash

    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[Callable[[], None]]:
        async with app.running():
            yield alive

    return run


def faust_contestant(
    settings: Settings, src: str, dst: str, args: argparse.Namespace, c: int, work: Workload
) -> Runner:
    fapp = faust_app(src, settings, same_guarantees=True)
    source = fapp.topic(src, key_serializer="raw", value_serializer="raw")
    sink = fapp.topic(dst, key_serializer="raw", value_serializer="raw")
    latencies = work.latencies

    async def model(stream: Any) -> None:
        async for event in stream.events():
            msg = orjson.loads(event.value)
            started = time.time()
            await asyncio.sleep(latencies[msg["id"]])
            answer = {"id": msg["id"], "started_at": started, "finished_at": time.time()}
            env = Envelope.new(Answer.message_type, "bench")
            await sink.send(key=event.key, value=orjson.dumps(answer), headers=env.to_headers())

    fapp.agent(source, name=f"{src}.model", concurrency=c)(model)

    def alive() -> None:
        if fapp.crashed:
            raise RuntimeError(f"the faust app crashed: {fapp.crash_reason!r}")

    @contextlib.asynccontextmanager
    async def run() -> AsyncIterator[Callable[[], None]]:
        await fapp.start()
        try:
            yield alive
        finally:
            await fapp.stop()

    return run


CONTESTANTS = {"agentstream": agentstream_contestant, "faust": faust_contestant}


# -- one run ----------------------------------------------------------------------------
@dataclass
class Run:
    contestant: str
    concurrency: int
    round: int
    ok: bool = False
    error: str | None = None
    results: int = 0
    distinct: int = 0
    makespan_s: float = 0.0
    events_per_s: float = 0.0
    ideal_per_s: float = 0.0
    bound_per_s: float = 0.0
    of_ideal: float = 0.0
    of_bound: float = 0.0
    steady_per_s: float = 0.0
    of_ideal_steady: float = 0.0
    first_call_s: float = 0.0
    time_to_result_s: dict[str, float] = field(default_factory=dict)
    queueing_s: dict[str, float] = field(default_factory=dict)
    delivery_s: dict[str, float] = field(default_factory=dict)


async def run_once(
    settings: Settings, args: argparse.Namespace, work: Workload, name: str, c: int, n: int
) -> Run:
    run = Run(name, c, n)
    kafka, events = settings.kafka, args.events
    tag = uuid.uuid4().hex[:8]
    src, dst = f"bench-model-{name}-c{c}-{tag}", f"bench-model-{name}-c{c}-{tag}.out"
    await ensure_topics(kafka, [src, dst], args.partitions)
    await fill_requests(kafka, src, events, args.keys)
    try:
        contestant = CONTESTANTS[name](settings, src, dst, args, c, work)
        async with asyncio.timeout(args.timeout):
            start_wall, start = time.time(), time.perf_counter()
            async with contestant() as alive:
                end = await watch(kafka, dst, args.partitions, events, alive)
    except Exception as e:  # noqa: BLE001 - a broken contestant is reported, the rest run
        run.error = f"{type(e).__name__}: {e}"
        return run
    landed = await read_results(kafka, dst, args.partitions)
    run.results, run.distinct = len(landed), len({r.id for r in landed})
    run.ok = run.distinct == events
    if not run.ok:
        run.error = f"{events - run.distinct} events have no result"
    # From the first model call (the group join before it is not handling) to the last
    # result; and the steady rate between the 10th and the 90th percentile of results,
    # without the ramp-up and the last calls' tail.
    first_call = min(r.started_at for r in landed)
    run.makespan_s = end - start - (first_call - start_wall)
    run.events_per_s = events / run.makespan_s
    written = sorted(r.written_at for r in landed)
    lo, hi = written[len(written) // 10], written[len(written) * 9 // 10]
    run.steady_per_s = (len(written) * 8 // 10) / max(hi - lo, 1e-9)
    run.of_ideal_steady = run.steady_per_s / work.ideal_rate(c)
    run.ideal_per_s = work.ideal_rate(c)
    run.bound_per_s = events / work.bound(c)
    run.of_ideal = run.events_per_s / run.ideal_per_s
    run.of_bound = run.events_per_s / run.bound_per_s
    run.first_call_s = min(r.started_at for r in landed) - start_wall
    run.time_to_result_s = spread([r.written_at - start_wall for r in landed])
    run.queueing_s = spread([r.started_at - start_wall for r in landed])
    run.delivery_s = spread([r.written_at - r.finished_at for r in landed])
    return run


# -- reporting --------------------------------------------------------------------------
def conditions(settings: Settings, args: argparse.Namespace, work: Workload) -> dict[str, Any]:
    lat = sorted(work.latencies)
    return {
        "events": args.events,
        "partitions": args.partitions,
        "keys": args.keys,
        "shape": args.shape,
        "latency_mean_s": work.mean,
        "latency_median_s": pct(lat, 0.5),
        "latency_p99_s": pct(lat, 0.99),
        "latency_max_s": lat[-1],
        "tail_calls": sum(1 for s in lat if s == TAIL_SECONDS) if args.shape == "tail" else 0,
        "key_chain_bound_s": work.key_chain_bound(),
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "contestants": args.contestants,
        "agentstream_batch": "max_size:100,within:1.0s,eager",
        "handler_timeout_s": HANDLER_TIMEOUT,
        "linger_ms": settings.kafka.linger_ms,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "loop": args.loop,
        "faust_streaming": version("faust-streaming"),
        "aiokafka": version("aiokafka"),
    }


def print_conditions(cond: dict[str, Any], work: Workload) -> None:
    print(
        f"events={cond['events']:,} partitions={cond['partitions']} keys={cond['keys']} "
        f"shape={cond['shape']} latency mean={cond['latency_mean_s']:.3f}s "
        f"median={cond['latency_median_s']:.3f}s p99={cond['latency_p99_s']:.3f}s "
        f"max={cond['latency_max_s']:.3f}s tail_calls={cond['tail_calls']} "
        f"concurrency={cond['concurrency']} rounds={cond['rounds']} "
        f"contestants={cond['contestants']}"
    )
    print(
        f"agentstream batch={cond['agentstream_batch']} timeout={HANDLER_TIMEOUT:.0f}s "
        f"acks=all linger_ms={cond['linger_ms']} cores={cond['cores']} "
        f"python={cond['python']} loop={cond['loop']} "
        f"faust-streaming={cond['faust_streaming']} aiokafka={cond['aiokafka']}"
    )
    for c in cond["concurrency"]:
        print(
            f"C={c}: ideal C/mean = {work.ideal_rate(c):,.1f} ev/s; makespan bound "
            f"max(N*mean/C, max latency) = {work.bound(c):.2f}s = "
            f"{cond['events'] / work.bound(c):,.1f} ev/s"
        )
    print(
        f"per-key chain bound (events of a key in order, agentstream only): "
        f"{cond['key_chain_bound_s']:.2f}s",
        flush=True,
    )


def _ms(seconds: float) -> str:
    return str(round(seconds * 1e3))  # whole ms, the resolution of CreateTime; no "-0"


def show(r: Run) -> str:
    head = f"round {r.round} {r.contestant:<11} C={r.concurrency:<4}"
    if r.error and not r.results:
        return f"{head} FAILED {r.error}"
    t, q, d = r.time_to_result_s, r.queueing_s, r.delivery_s
    return (
        f"{head} {r.distinct:,} results in {r.makespan_s:.2f}s = {r.events_per_s:,.1f} ev/s | "
        f"ideal {r.ideal_per_s:,.1f} ({r.of_ideal:.2f}) bound {r.bound_per_s:,.1f} "
        f"({r.of_bound:.2f}) steady {r.steady_per_s:,.1f} ({r.of_ideal_steady:.2f} of ideal)"
        f" | first call {r.first_call_s:.2f}s | to result p50 "
        f"{t['p50']:.2f} p95 {t['p95']:.2f} p99 {t['p99']:.2f} max {t['max']:.2f}s | "
        f"queueing p50 {q['p50']:.2f} p95 {q['p95']:.2f} p99 {q['p99']:.2f}s | delivery "
        f"p50 {_ms(d['p50'])} p95 {_ms(d['p95'])} p99 {_ms(d['p99'])} ms"
        + (f" | {r.error}" if r.error else "")
    )


SUMMARY_PERCENTILES = [
    *(("ttr", "time_to_result_s", p) for p in ("p50", "p95", "p99", "max")),
    *(("queue", "queueing_s", p) for p in ("p50", "p99")),
    *(("delivery", "delivery_s", p) for p in ("p50", "p99")),
]


def summarize(runs: list[Run]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, c in dict.fromkeys((r.contestant, r.concurrency) for r in runs):
        ok = [r for r in runs if (r.contestant, r.concurrency) == (name, c) and r.ok]
        row: dict[str, Any] = {"contestant": name, "concurrency": c, "runs": len(ok)}
        rows.append(row)
        if not ok:
            continue
        for key in ("events_per_s", "of_ideal", "of_bound", "steady_per_s", "of_ideal_steady"):
            row[key] = statistics.median(getattr(r, key) for r in ok)
        for key, attr, p in SUMMARY_PERCENTILES:
            row[f"{key}_{p}_s"] = statistics.median(getattr(r, attr)[p] for r in ok)
    return rows


def print_summary(rows: list[dict[str, Any]]) -> None:
    print()
    print(
        "contestant      C  runs     ev/s  of ideal  of bound  steady  of ideal"
        "   ttr p50   p95   p99   max"
        "   queue p50   p99   delivery p50   p99"
    )
    for s in rows:
        head = f"{s['contestant']:<11} {s['concurrency']:>5} {s['runs']:>5}"
        if not s["runs"]:
            print(f"{head}  (no complete run)")
            continue
        print(
            f"{head} {s['events_per_s']:>8,.1f} {s['of_ideal']:>9.2f} {s['of_bound']:>9.2f} "
            f"{s['steady_per_s']:>7,.1f} {s['of_ideal_steady']:>9.2f} "
            f"{s['ttr_p50_s']:>8.2f}s {s['ttr_p95_s']:>5.2f} {s['ttr_p99_s']:>5.2f} "
            f"{s['ttr_max_s']:>5.2f} {s['queue_p50_s']:>10.2f}s {s['queue_p99_s']:>5.2f} "
            f"{_ms(s['delivery_p50_s']):>12}ms {_ms(s['delivery_p99_s']):>4}"
        )
    print(
        "(medians over the complete runs; ev/s from the first model call to the last result;"
        " steady = between the 10th and 90th percentile of results; ttr = time to result"
        " since contestant start)"
    )


async def main(args: argparse.Namespace) -> None:
    settings = Settings()
    tune_gc(settings)  # the worker's GC settings, for both contestants
    work = Workload([latency(i, args.shape) for i in range(args.events)], args.keys)
    cond = conditions(settings, args, work)
    print_conditions(cond, work)
    runs: list[Run] = []
    for n in range(1, args.rounds + 1):
        # Each round runs every contestant at every concurrency on fresh topics, so a
        # slow spell of a shared machine does not fall on one of them only.
        for c in args.concurrency:
            for name in args.contestants:
                runs.append(await run_once(settings, args, work, name, c, n))
                print(show(runs[-1]), flush=True)
    rows = summarize(runs)
    print_summary(rows)
    out = RESULTS / (
        f"model_workload-{args.shape}-c{'-'.join(map(str, args.concurrency))}-n{args.events}.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"conditions": cond, "runs": [asdict(r) for r in runs], "summary": rows}, indent=2
        )
        + "\n"
    )
    print(f"written to {out}")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--keys", type=int, default=10_000, help="distinct event keys")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--shape", choices=["lognormal", "tail"], default="lognormal")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of every contestant")
    parser.add_argument(
        "--contestants", nargs="+", choices=list(CONTESTANTS), default=list(CONTESTANTS)
    )
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run")
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    run(main, parser.parse_args())


if __name__ == "__main__":
    cli()
