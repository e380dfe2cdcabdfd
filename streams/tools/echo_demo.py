"""``agentstream demo``: the whole path on one machine, with figures.

Starts the local Kafka and Redis (when the settings point at 127.0.0.1), runs the echo
agent in worker processes, sends events, reads every reply and prints what happened.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp

from config import Settings
from schemas.echo import Ping, Pong
from streams.client import Client
from streams.errors import RequestTimeout, UnknownTopic
from streams.tools.local import ensure_local

MAILBOX = "echo"
PACE_TICK = 0.005  # seconds between paced sends


def run(events: int, workers: int, rate: float | None = None) -> int:
    settings = Settings()
    print(*ensure_local(settings), sep="\n")
    with echo_workers(workers):
        outcome = asyncio.run(drive(settings, events, workers, rate))
        print(outcome.summary())
        asyncio.run(_show_metrics(settings.web_port, workers))
    return 0


@contextlib.contextmanager
def echo_workers(workers: int) -> Iterator[None]:
    """``agentstream worker agents.echo:app --workers N`` for the duration; SIGTERM after."""
    argv = [sys.executable, "-m", "streams", "worker", "agents.echo:app", "--workers", str(workers)]
    proc = subprocess.Popen(argv)  # noqa: S603 - our own command line
    try:
        yield
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        print(f"workers drained and exited with {code}")


@dataclass
class Outcome:
    events: int
    rate: float | None
    sent_in: float  # seconds from the first send to the last acknowledged
    latencies: list[float]  # send to reply, seconds, sorted
    by_worker: collections.Counter[int]

    def percentile(self, p: float) -> float:
        """Milliseconds below which a share ``p`` of the replies arrived."""
        if not self.latencies:
            return float("nan")
        return self.latencies[min(len(self.latencies) - 1, int(p * len(self.latencies)))] * 1000

    def summary(self) -> str:
        pace = f"at {self.rate:,.0f}/s" if self.rate else "in bursts of 500"
        split = ", ".join(f"{w}: {n}" for w, n in self.by_worker.items())
        return (
            f"sent {self.events} events {pace} in {self.sent_in:.2f}s; "
            f"received {len(self.latencies)}/{self.events} replies\n"
            f"latency p50 {self.percentile(0.5):.1f} ms  p95 {self.percentile(0.95):.1f} ms  "
            f"p99 {self.percentile(0.99):.1f} ms  max {self.percentile(1.0):.1f} ms\n"
            f"replies per worker process: {split}"
        )


async def drive(settings: Settings, events: int, workers: int, rate: float | None) -> Outcome:
    """Send ``events`` pings (paced at ``rate`` per second, or in bursts of 500) and time
    every pong; waits up to two minutes for the last ones."""
    run_id = uuid.uuid4().hex[:8]
    async with Client(settings, source="agentstream.demo") as client:
        await _wait_for_workers(client, workers)
        replies = asyncio.create_task(_collect(client, run_id, events, since=time.time()))
        sent_at: dict[int, float] = {}
        t0 = time.monotonic()
        seq = 0
        while seq < events:
            # At most 500 in flight: a sender that falls behind its pace shows as a lower
            # "sent/s" instead of piling up sends that time out in the producer's buffer.
            due = min(events, seq + 500)
            if rate:
                await asyncio.sleep(PACE_TICK)
                due = min(due, int((time.monotonic() - t0) * rate) + 1)
            chunk = range(seq, due)
            seq = due
            for n in chunk:
                sent_at[n] = time.monotonic()
            await asyncio.gather(
                *(
                    client.send(MAILBOX, Ping(text=run_id, seq=n), key=b"user-%d" % (n % 50))
                    for n in chunk
                )
            )
        sent_in = time.monotonic() - t0
        try:
            received = await asyncio.wait_for(replies, timeout=120)
        except TimeoutError:
            print(f"error: not every reply arrived within 120 s; see {MAILBOX}.dlq")
            raise
    latencies = sorted(at - sent_at[n] for n, (at, _) in received.items())
    by_worker = collections.Counter(w for _, w in received.values())
    return Outcome(events, rate, sent_in, latencies, by_worker)


async def _show_metrics(port: int, workers: int) -> None:
    """A few lines of each worker's /metrics, as Prometheus would scrape them."""
    if not port:
        return
    wanted = ("agentstream_messages_consumed_total", "agentstream_handler_duration_seconds_count")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for url in (f"http://127.0.0.1:{port + i}/metrics" for i in range(workers)):
            try:
                async with http.get(url) as response:
                    text = await response.text()
            except aiohttp.ClientError as e:
                print(f"{url}: {e}")
                continue
            lines = [line for line in text.splitlines() if line.startswith(wanted)]
            print(f"{url}:", *lines, sep="\n  ")


async def _wait_for_workers(client: Client, workers: int) -> None:
    """Ask until every worker process answered (partitions are assigned to all of them),
    or for at most two minutes; before the workers create it, the mailbox does not exist."""
    print(f"waiting for {workers} echo worker(s) ...", flush=True)
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    attempt = 0
    while len(seen) < workers:
        attempt += 1
        try:
            reply = await client.ask(MAILBOX, Ping(text="hello"), key=b"%d" % attempt, timeout=5)
        except (RequestTimeout, UnknownTopic):
            reply = None
        if reply is not None:
            pong = reply.parse(Pong)
            if pong.worker not in seen:
                seen.add(pong.worker)
                print(f"ask -> {reply.envelope.type} from worker {pong.worker}", flush=True)
        if time.monotonic() > deadline:
            if seen:
                print(f"only {len(seen)} of {workers} worker(s) answered; going on")
                return
            raise RequestTimeout(f"no echo worker answered on {MAILBOX!r} within 120 s")


async def _collect(
    client: Client, run_id: str, events: int, since: float
) -> dict[int, tuple[float, int]]:
    received: dict[int, tuple[float, int]] = {}
    async for reply in client.results(f"{MAILBOX}.replies", since=since):
        if reply.envelope.type != Pong.message_type:
            continue
        pong = reply.parse(Pong)
        if pong.text == run_id and pong.seq not in received:
            received[pong.seq] = (time.monotonic(), pong.worker)
            if len(received) % max(1, events // 5) == 0:
                print(f"  {len(received)} replies", flush=True)
            if len(received) == events:
                break
    return received
