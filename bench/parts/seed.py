"""Part 6, seed: the customer-service system end to end (offline models; 2 worker
processes of ``agents.support`` behind a topic prefix of their own) asked the shipped
inquiries through ``Client.ask`` at rising rates until p99 passes 2 s, a request is
lost or the sender cannot keep the pace. Reports the highest sustained rate and the CPU
per inquiry (/proc: the workers alone, and with the broker, Redis and the sender)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from agents.shared.datasets import read_jsonl
from agents.support import Topics
from bench import asking, plots, procs
from bench.common import delete_topics
from bench.suite import Env, Outcome
from bench.targets import Target
from schemas.support import Inquiry
from streams import Client

WORKERS = 2
P99_LIMIT_MS = 2000.0
ASK_TIMEOUT = 30.0


def sustained(rows: list[dict[str, Any]], p99_limit_ms: float = P99_LIMIT_MS) -> float | None:
    """The highest rate at which every request was answered, p99 stayed under the limit
    and the sender kept at least 95% of the pace; None when no rate did."""
    ok = [
        r["rate"]
        for r in rows
        if r["replies"] == r["sent"] and r["failed"] == 0 and r["timeouts"] == 0
        and r["ms"]["p99"] is not None and r["ms"]["p99"] < p99_limit_ms
        and r["sent_per_s"] >= 0.95 * r["rate"]
    ]  # fmt: skip
    return max(ok, default=None)


async def run(env: Env) -> Outcome:
    rates = env.size([10.0, 20.0], [25.0, 50.0, 100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0])
    seconds = env.size(3.0, 15.0)
    prefix = f"bench-seed-{uuid.uuid4().hex[:8]}."
    s = env.settings
    env.announce(
        workers=WORKERS, rates=rates, seconds_per_rate=seconds, p99_limit_ms=P99_LIMIT_MS,
        ask_timeout_s=ASK_TIMEOUT, model=s.models.provider, topic_prefix=prefix,
        acks="all", idempotent=True, linger_ms=s.kafka.linger_ms,
        inquiries="the shipped inquiries (EN and ZH, mixed), one new customer each",
    )  # fmt: skip
    shipped = read_jsonl("inquiries.jsonl")
    mailbox = Topics(prefix).inquiries
    rows: list[dict[str, Any]] = []
    try:
        app, env_vars = "bench.support_app:create", {"BENCH_PREFIX": prefix}
        with procs.workers(app, WORKERS, env_vars) as workers:
            await workers.ready()
            async with Client(s, source="bench.seed") as client:

                async def ask(i: int) -> object:
                    row = shipped[i % len(shipped)]
                    customer = f"{prefix}{i}"
                    msg = Inquiry(customer_id=customer, text=row["text"], lang=row.get("lang"))
                    return await client.ask(mailbox, msg, key=customer.encode(), timeout=30)

                await asking.paced(ask, 20.0, 1.0)  # warm-up: caches, connections
                for n, rate in enumerate(rates):
                    rows.append(await _step(env, workers, ask, rate, seconds, n))
                    workers.check()
                    if sustained(rows[-1:]) is None:
                        break
    finally:
        await delete_topics(s.kafka, prefix)
    best = sustained(rows)
    print(f"highest sustained rate: {best or 0:,.0f} inquiries/s (p99 < {P99_LIMIT_MS:.0f} ms)")
    return Outcome(
        {"rows": rows, "sustained_per_s": best},
        [Target("seed.sustained", "highest sustained rate with p99 < 2 s", best, ">=", 3000.0,
                "/s")],
    )  # fmt: skip


async def _step(
    env: Env, workers: procs.Workers, ask: asking.Ask, rate: float, seconds: float, n: int
) -> dict[str, Any]:
    named = {f"worker{i}": pid for i, pid in enumerate(workers.pids)}
    meter = procs.CpuMeter({**named, **procs.services(env.settings)})
    meter.start()
    asked = await asking.paced(ask, rate, seconds, 10**7 * (n + 1))
    spent = meter.stop()
    replies = max(1, len(asked.latencies))
    worker_cpu = sum(v for k, v in spent.items() if k.startswith("worker"))
    all_cpu = worker_cpu + sum(spent.get(k, 0.0) for k in ("broker", "redis", "bench"))
    row = {
        **asked.figures(),
        "cpu_ms_per_inquiry_workers": worker_cpu / replies * 1e3,
        "cpu_ms_per_inquiry_all": all_cpu / replies * 1e3,
        "cpu_share": meter.shares(),
    }
    print(f"{asked.line()}; CPU per inquiry {row['cpu_ms_per_inquiry_workers']:.2f} ms in the "
          f"workers, {row['cpu_ms_per_inquiry_all']:.2f} ms with broker, Redis and sender",
          flush=True)  # fmt: skip
    return row


def plot(payload: dict[str, Any], path: Path) -> None:
    rows = payload["results"]["rows"]
    rates = [r["rate"] for r in rows]
    with plots.figure(path, payload, panels=2) as (left, right):
        for key in ("p50", "p95", "p99"):
            left.plot(rates, [r["ms"][key] for r in rows], marker="o", label=key)
        plots.limit(left, P99_LIMIT_MS, "p99 limit 2 s")
        plots.log_scale(left, "x")
        plots.log_scale(left)
        left.set_xlabel("inquiries per second asked")
        left.set_ylabel("ms, ask to reply")
        left.legend(fontsize=8)
        left.set_title("latency by rate", fontsize=9)
        right.plot(rates, [r["cpu_ms_per_inquiry_workers"] for r in rows], marker="o",
                   label="workers")  # fmt: skip
        right.plot(rates, [r["cpu_ms_per_inquiry_all"] for r in rows], marker="o",
                   label="workers + broker + Redis + sender")  # fmt: skip
        plots.log_scale(right, "x")
        right.set_xlabel("inquiries per second asked")
        right.set_ylabel("CPU ms per inquiry")
        right.legend(fontsize=8)
        right.set_title("CPU per inquiry", fontsize=9)
