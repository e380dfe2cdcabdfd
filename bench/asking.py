"""Requests at a steady rate (or as fast as they are answered) through any ``ask``
coroutine, each timed from its start to its reply: the latency and seed parts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bench.stats import in_ms, spread
from streams.errors import RequestFailed, RequestTimeout

PACE_TICK = 0.005  # seconds between paced starts
Ask = Callable[[int], Awaitable[object]]


@dataclass
class Asked:
    """One paced run: what was started, answered, failed, and how long each took."""

    rate: float
    seconds: float
    latencies: list[float] = field(default_factory=list)  # seconds, start to reply
    failed: int = 0  # a dead letter answered the request
    timeouts: int = 0
    sent: int = 0
    sent_in: float = 0.0

    @property
    def lost(self) -> int:
        return self.sent - len(self.latencies)

    def figures(self) -> dict[str, Any]:
        return {
            "rate": self.rate,
            "sent": self.sent,
            "sent_per_s": self.sent / self.sent_in if self.sent_in else 0.0,
            "replies": len(self.latencies),
            "failed": self.failed,
            "timeouts": self.timeouts,
            "ms": in_ms(spread(self.latencies)),
        }

    def line(self) -> str:
        f = self.figures()
        ms = f["ms"]
        return (
            f"{self.rate:>8,.0f}/s sent {f['sent_per_s']:>8,.0f}/s replies {f['replies']:>7,} "
            f"lost {self.lost:>5} p50 {ms['p50']:7.1f} p95 {ms['p95']:7.1f} "
            f"p99 {ms['p99']:7.1f} max {ms['max']:7.1f} ms"
        )


async def _timed(ask: Ask, i: int, out: Asked) -> None:
    started = time.monotonic()
    try:
        await ask(i)
    except RequestTimeout:
        out.timeouts += 1
        return
    except RequestFailed:
        out.failed += 1
        return
    out.latencies.append(time.monotonic() - started)


async def paced(ask: Ask, rate: float, seconds: float, first: int = 0) -> Asked:
    """Start ``ask(i)`` at ``rate`` per second for ``seconds``, then wait for every
    answer. A sender that falls behind its pace shows as a lower ``sent_per_s``."""
    out = Asked(rate, seconds)
    total = max(1, int(rate * seconds))
    tasks: list[asyncio.Task[None]] = []
    t0 = time.monotonic()
    while out.sent < total:
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        tasks += [asyncio.create_task(_timed(ask, first + i, out)) for i in range(out.sent, due)]
        out.sent = due
        await asyncio.sleep(PACE_TICK)
    out.sent_in = time.monotonic() - t0
    await asyncio.gather(*tasks)
    return out


async def closed_loop(ask: Ask, in_flight: int, seconds: float, first: int = 0) -> float:
    """Replies per second with ``in_flight`` requests always outstanding: the peak."""
    done = 0
    counter = iter(range(first, first + 10**9))
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            await ask(next(counter))
            done += 1

    t0 = time.monotonic()
    await asyncio.gather(*(client() for _ in range(in_flight)))
    return done / (time.monotonic() - t0)
