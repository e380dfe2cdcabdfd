"""Latency at fixed rates: events sent at a steady pace to the echo agent in worker
processes, each timed from send to its reply read back from the reply topic.

    agentstream up
    python -m bench.latency --rates 1000 5000 10000 --seconds 10 --workers 2

Reported against the article's KPIs (P95 < 2 s, P99 < 5 s, 1,000+ msg/s, errors < 0.1%).
The sender, the reply reader and the workers share the machine with the broker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform

from config import Settings
from streams.tools.echo_demo import MAILBOX, PACE_TICK, drive, echo_workers


async def measure(settings: Settings, rates: list[float], seconds: float, workers: int) -> None:
    rows = []
    for rate in rates:
        events = int(rate * seconds)
        outcome = await drive(settings, events, workers, rate)
        missing = events - len(outcome.latencies)
        rows.append(
            f"{rate:>8,.0f} {events / outcome.sent_in:>9,.0f} {len(outcome.latencies):>8,} "
            f"{missing:>5} {outcome.percentile(0.5):>8.1f} {outcome.percentile(0.95):>8.1f} "
            f"{outcome.percentile(0.99):>8.1f} {outcome.percentile(1.0):>8.1f}"
        )
        print(rows[-1], flush=True)
    print()
    print("  target     sent/s  replies  lost   p50 ms   p95 ms   p99 ms   max ms")
    print(*rows, sep="\n")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--rates", type=float, nargs="+", default=[1000.0, 5000.0, 10000.0])
    parser.add_argument("--seconds", type=float, default=10.0, help="sending time per rate")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    settings = Settings()
    print(
        f"agent=agents.echo:app mailbox={MAILBOX} (4 partitions) workers={args.workers} "
        f"seconds={args.seconds} pace_tick={PACE_TICK}s acks=all idempotent=yes "
        f"linger_ms={settings.kafka.linger_ms} batch=defaults(max_size:"
        f"{settings.batch.max_size},within:{settings.batch.within}s,eager) "
        f"cores={os.cpu_count()} python={platform.python_version()}",
        flush=True,
    )
    with echo_workers(args.workers):
        asyncio.run(measure(settings, args.rates, args.seconds, args.workers))


if __name__ == "__main__":
    cli()
