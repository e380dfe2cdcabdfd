"""Part 1, throughput: agentstream, the raw aiokafka loop and the peers with the same
producer guarantees and with their defaults; Kafka's perf-test tools as the ceiling."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench import kafka_perf, plots
from bench.stats import ratio
from bench.suite import Env, Outcome
from bench.targets import Target
from bench.throughput import CONTESTANTS, SAME_GUARANTEES, conditions, median, rounds


async def run(env: Env) -> Outcome:
    args = argparse.Namespace(
        messages=env.size(5_000, 100_000), size=200, partitions=1, max_size=500,
        within=0.05, concurrency=32, rounds=env.size(1, 3), timeout=env.size(60.0, 300.0),
        contestants=list(CONTESTANTS),
    )  # fmt: skip
    env.announce(**conditions(env.settings, args))
    figures = await rounds(env.settings, args)
    contestants: dict[str, Any] = {}
    for name, runs in figures.items():
        m = median(runs)
        contestants[name] = {
            "msg_per_s": m and m[0],
            "cpu_us_per_msg": m and m[1] * 1e6,
            "rounds": [{"msg_per_s": r, "cpu_us_per_msg": c * 1e6} for r, c in runs],
        }
        print(f"{name:<26} {_show(contestants[name])}  (median of {len(runs)})")
    try:
        records = env.size(20_000, 500_000)  # the JVM tools need a longer run to warm up
        ceiling = await kafka_perf.ceiling(env.settings, records, args.size, 1)
        produced, consumed = ceiling["producer"]["msg_per_s"], ceiling["consumer"]["msg_per_s"]
        print(f"kafka perf tools: producer {produced:,.0f} msg/s, consumer {consumed:,.0f} msg/s")
    except Exception as e:  # noqa: BLE001 - the ceiling is reported as missing
        print(f"kafka perf tools: FAILED {type(e).__name__}: {e}")
        ceiling = {"error": f"{type(e).__name__}: {e}"}
    rate = {name: c["msg_per_s"] for name, c in contestants.items()}
    best_peer = max((rate[p] for p in SAME_GUARANTEES if rate.get(p)), default=None)
    return Outcome(
        {"contestants": contestants, "kafka_perf": ceiling},
        [
            Target("throughput.vs_raw", "agentstream / raw aiokafka loop",
                   ratio(rate["agentstream"], rate["raw"]), ">=", 0.9, "x"),
            Target("throughput.vs_peers", "agentstream / best peer with the same guarantees",
                   ratio(rate["agentstream"], best_peer), ">", 1.0, "x"),
            Target("throughput.exactly_once", "exactly-once / at-least-once agentstream",
                   ratio(rate.get("agentstream-exactly-once"), rate["agentstream"]),
                   ">=", 0.7, "x"),
        ],
    )  # fmt: skip


def _show(c: dict[str, Any]) -> str:
    if c["msg_per_s"] is None:
        return "no complete run"
    return f"{c['msg_per_s']:>9,.0f} msg/s {c['cpu_us_per_msg']:5.1f} us CPU/msg"


def plot(payload: dict[str, Any], path: Path) -> None:
    res = payload["results"]
    names = list(res["contestants"])
    perf = res.get("kafka_perf", {})
    labels = [*names, "kafka-producer-perf", "kafka-consumer-perf"]
    rates = [res["contestants"][n]["msg_per_s"] for n in names]
    rates += [perf.get("producer", {}).get("msg_per_s"), perf.get("consumer", {}).get("msg_per_s")]
    with plots.figure(path, payload, panels=2) as (left, right):
        plots.bars(left, labels, rates, "messages per second (median)")
        left.set_title("throughput (kafka perf tools: one half of the work each)", fontsize=9)
        cpu = [res["contestants"][n]["cpu_us_per_msg"] for n in names]
        plots.bars(right, names, cpu, "CPU µs per message (this process)", "{:.1f}")
        right.set_title("CPU per message (lower is better)", fontsize=9)
