"""``agentstream demo``: the whole path on one machine, with figures.

Starts the local Kafka and Redis (when the settings point at 127.0.0.1), runs the echo
agent in worker processes, sends events, reads every reply and prints what happened.
"""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
import uuid

import aiohttp

from config import Settings
from schemas.echo import Ping, Pong
from streams.client import Client
from streams.errors import RequestTimeout, UnknownTopic
from streams.local import LocalKafka, LocalRedis
from streams.local.kafka import LOCAL_HOSTS

MAILBOX = "echo"


def run(events: int, workers: int) -> int:
    settings = Settings()
    kafka, redis = LocalKafka(settings), LocalRedis(settings)
    if kafka.host in LOCAL_HOSTS:
        status = kafka.up()
        print(f"kafka {status.version} at {status.bootstrap}")
    if redis.host in LOCAL_HOSTS:
        print(f"redis {redis.up().version} at {settings.redis.url}")
    argv = [sys.executable, "-m", "streams", "worker", "agents.echo:app", "--workers", str(workers)]
    proc = subprocess.Popen(argv)  # noqa: S603 - our own command line
    try:
        asyncio.run(_drive(settings, events, workers))
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        print(f"workers drained and exited with {code}")
    return 0


async def _drive(settings: Settings, events: int, workers: int) -> None:
    run_id = uuid.uuid4().hex[:8]
    async with Client(settings, source="agentstream.demo") as client:
        await _wait_for_workers(client, workers)
        replies = asyncio.create_task(_collect(client, run_id, events))
        sent_at: dict[int, float] = {}
        t0 = time.monotonic()
        for start in range(0, events, 500):
            chunk = range(start, min(events, start + 500))
            for seq in chunk:
                sent_at[seq] = time.monotonic()
            await asyncio.gather(
                *(
                    client.send(MAILBOX, Ping(text=run_id, seq=seq), key=b"user-%d" % (seq % 50))
                    for seq in chunk
                )
            )
        print(f"sent {events} events in {time.monotonic() - t0:.2f}s", flush=True)
        try:
            received = await asyncio.wait_for(replies, timeout=120)
        except TimeoutError:
            print(f"error: not every reply arrived within 120 s; see {MAILBOX}.dlq")
            raise
    elapsed = max(received.values(), key=lambda r: r[0])[0] - t0
    latencies = sorted(at - sent_at[seq] for seq, (at, _) in received.items())
    by_worker = collections.Counter(w for _, w in received.values())

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(f"received {len(received)}/{events} replies in {elapsed:.2f}s")
    print(f"latency p50 {pct(0.5):.1f} ms  p95 {pct(0.95):.1f} ms  p99 {pct(0.99):.1f} ms")
    print("replies per worker process: " + ", ".join(f"{w}: {n}" for w, n in by_worker.items()))
    await _show_metrics(settings.web_port, workers)


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


async def _collect(client: Client, run_id: str, events: int) -> dict[int, tuple[float, int]]:
    received: dict[int, tuple[float, int]] = {}
    async for reply in client.results(f"{MAILBOX}.replies"):
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
