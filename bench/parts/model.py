"""Part 3, model-shaped workload: handlers awaiting simulated model calls (log-normal,
median 0.3 s, p99 about 3 s), agentstream against faust's ``concurrency``, at C=64 and
C=256 (``bench.model_workload``)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import plots
from bench.common import delete_topics
from bench.model_workload import CONTESTANTS, Workload, conditions, latency, run_once, show
from bench.model_workload import summarize as summarize_runs
from bench.stats import ratio
from bench.suite import Env, Outcome
from bench.targets import Target

#: The conditions that differ between the C=64 and the C=256 run.
PER_RUN = ("events", "concurrency", "latency_mean_s", "latency_median_s", "latency_p99_s",
           "latency_max_s", "tail_calls", "key_chain_bound_s")  # fmt: skip


async def run(env: Env) -> Outcome:
    events = {64: env.size(300, 3_000), 256: env.size(600, 10_000)}
    rows: list[dict[str, Any]] = []
    runs: list[dict[str, Any]] = []
    for c, n in events.items():
        args = argparse.Namespace(
            events=n, partitions=4, keys=10_000, concurrency=[c], shape="lognormal", rounds=1,
            contestants=list(CONTESTANTS), timeout=env.size(120.0, 300.0), loop="uvloop",
        )  # fmt: skip
        work = Workload([latency(i, args.shape) for i in range(n)], args.keys)
        cond = conditions(env.settings, args, work)
        if not env.conditions:
            env.announce(**{k: v for k, v in cond.items() if k not in PER_RUN})
        env.announce(**{f"C{c}_{k}": cond[k] for k in PER_RUN},
                     **{f"C{c}_ideal_per_s": work.ideal_rate(c)})  # fmt: skip
        done = []
        for name in args.contestants:
            done.append(await run_once(env.settings, args, work, name, c, 1))
            print(show(done[-1]), flush=True)
        rows += summarize_runs(done)
        runs += [asdict(r) for r in done]
    await delete_topics(env.settings.kafka, "bench-model-")
    by = {(r["contestant"], r["concurrency"]): r for r in rows}
    targets = []
    for c in events:
        ours, faust = by[("agentstream", c)], by[("faust", c)]
        targets += [
            Target(f"model.ideal_c{c}", f"agentstream steady rate / ideal C/mean, C={c}",
                   ours.get("of_ideal_steady"), ">=", 0.8, "x"),
            Target(f"model.vs_faust_c{c}", f"agentstream / faust concurrency steady rate, C={c}",
                   ratio(ours.get("steady_per_s"), faust.get("steady_per_s")), ">=", 1.0, "x"),
        ]  # fmt: skip
    for row in rows:
        print(_line(row))
    return Outcome({"summary": rows, "runs": runs}, targets)


def _line(r: dict[str, Any]) -> str:
    if not r["runs"]:
        return f"{r['contestant']:<11} C={r['concurrency']:<4} no complete run"
    return (
        f"{r['contestant']:<11} C={r['concurrency']:<4} steady {r['steady_per_s']:,.1f} ev/s "
        f"({r['of_ideal_steady']:.2f} of ideal), overall {r['events_per_s']:,.1f} ev/s "
        f"({r['of_ideal']:.2f}); delivery p50 {r['delivery_p50_s'] * 1e3:.0f} ms "
        f"p99 {r['delivery_p99_s'] * 1e3:.0f} ms"
    )


def plot(payload: dict[str, Any], path: Path) -> None:
    rows = [r for r in payload["results"]["summary"] if r["runs"]]
    labels = [f"{r['contestant']} C={r['concurrency']}" for r in rows]
    with plots.figure(path, payload, panels=2) as (left, right):
        plots.bars(left, labels, [r["of_ideal_steady"] for r in rows],
                   "fraction of ideal (C / mean latency)", "{:.2f}")  # fmt: skip
        plots.limit(left, 0.8, "target 0.8")
        left.set_title("steady rate (10th-90th percentile of results)", fontsize=9)
        left.legend(fontsize=8)
        ms = [max(0.0, (r["delivery_p99_s"] or 0) * 1e3) for r in rows]
        plots.bars(right, labels, ms, "ms, model call end to result written (p99)")
        right.set_title("per-event delivery overhead (CreateTime: ms resolution)", fontsize=9)
