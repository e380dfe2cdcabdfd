"""``agentstream demo``: the shipped systems end to end on one machine, with figures.

Starts the local Kafka and Redis (when the settings point at this host), runs the
customer-service and content workers, asks every shipped inquiry and a few content
requests, and prints what happened: categories, answered and escalated, dead letters,
quality records and KPIs, cache hit rates per level, latency and throughput, router
accuracy against the shipped labels.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from agents.shared.datasets import read_jsonl
from agents.support import seed_kpis
from agents.support.kpis import Kpis
from agents.support.scoring import Expectation, Result
from config import Settings
from schemas.content import ContentRequest, Published
from schemas.support import Inquiry, Quality, Reply
from streams.client import Client
from streams.errors import RequestFailed, RequestTimeout
from streams.tools.local import ensure_local

INQUIRIES = "support.inquiries"
QUALITY = "support.quality"
CONTENT = "content.requests"
ASK_TIMEOUT = 60.0
CONTENT_TIMEOUT = 180.0
TOPICS = (
    ("Event streaming for retail teams", "store managers"),
    ("Securing a small company's cloud account", "IT generalists"),
    ("Writing support answers customers trust", "new support agents"),
    ("Capacity planning for holiday sales", "engineering leads"),
)


def run(inquiries: int | None, content: int, workers: int, in_flight: int) -> int:
    settings = Settings()
    print(*ensure_local(settings), sep="\n")
    shipped = _shipped_inquiries()
    count = inquiries or len(shipped)
    port = settings.web_port or 6066
    apps = [("agents.support:app", workers, port), ("agents.content:app", 1, port + workers)]
    with _workers(apps):
        asyncio.run(_wait_ready([port + i for i in range(workers + 1)]))
        summary = asyncio.run(_drive(settings, shipped, count, content, in_flight))
        summary.cache = asyncio.run(_cache_rates([port + i for i in range(workers + 1)]))
        print(summary.render())
    return 0 if summary.complete else 1


@contextlib.contextmanager
def _workers(apps: list[tuple[str, int, int]]) -> Iterator[None]:
    """``agentstream worker APP --workers N`` per app for the duration; SIGTERM after."""
    procs = []
    for app, count, port in apps:
        argv = [sys.executable, "-m", "streams", "worker", app, "--workers", str(count)]
        env = {**os.environ, "AGENTSTREAM_WEB_PORT": str(port)}
        procs.append(subprocess.Popen(argv, env=env))  # noqa: S603 - our own command line
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=90) for proc in procs]
        print(f"workers drained and exited with {codes}")


async def _wait_ready(ports: list[int], wait: float = 180.0) -> None:
    """Until every worker's /readyz says ready (it holds partitions and reaches the broker)."""
    print(f"waiting for {len(ports)} worker process(es) to be ready ...", flush=True)
    deadline = time.monotonic() + wait
    pending = set(ports)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        while pending:
            for port in sorted(pending):
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as response:
                        if response.status == 200:
                            pending.discard(port)
            if pending and time.monotonic() > deadline:
                raise RequestTimeout(f"workers on ports {sorted(pending)} not ready in {wait}s")
            await asyncio.sleep(0.5)


@dataclass
class Summary:
    sent: int = 0
    replies: list[Reply] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)  # seconds, ask to reply
    dead_letters: list[str] = field(default_factory=list)
    missing: int = 0
    elapsed: float = 0.0
    correct: collections.Counter[str] = field(default_factory=collections.Counter)
    labelled: collections.Counter[str] = field(default_factory=collections.Counter)
    quality: list[Quality] = field(default_factory=list)
    published: list[Published] = field(default_factory=list)
    content_sent: int = 0
    content_failed: list[str] = field(default_factory=list)
    cache: dict[str, dict[str, float]] = field(default_factory=dict)
    results: list[Result] = field(default_factory=list)  # the held-out inquiries'

    @property
    def complete(self) -> bool:
        """Every request ended in a reply, an escalation or a dead letter."""
        ended = len(self.replies) + len(self.dead_letters)
        content_ended = len(self.published) + len(self.content_failed)
        return ended == self.sent and content_ended == self.content_sent

    def percentile(self, p: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(p * len(xs)))] * 1000 if xs else float("nan")

    def render(self) -> str:
        status = collections.Counter(r.status for r in self.replies)
        category = collections.Counter(r.category for r in self.replies)
        lines = [
            "",
            f"customer service: {self.sent} inquiries in {self.elapsed:.1f}s "
            f"({self.sent / self.elapsed:.0f}/s), {len(self.replies)} replies "
            f"({status['answered']} answered, {status['escalated']} escalated), "
            f"{len(self.dead_letters)} dead letters, {self.missing} without an outcome",
            "  per category: " + ", ".join(f"{c} {n}" for c, n in sorted(category.items())),
            f"  latency p50 {self.percentile(0.5):.0f} ms  p95 {self.percentile(0.95):.0f} ms"
            f"  p99 {self.percentile(0.99):.0f} ms  max {self.percentile(1.0):.0f} ms",
            "  router accuracy on the held-out test split: "
            + ", ".join(
                f"{lang} {self.correct[lang] / n:.1%} ({self.correct[lang]}/{n})"
                for lang, n in sorted(self.labelled.items())
            ),
            f"  quality records: {len(self.quality)}, flagged "
            f"{sum(q.flagged for q in self.quality)}",
        ]
        kpis = Kpis()
        for q in self.quality:
            kpis.add(q)
        lines.append("  KPIs: " + _kpi_line(kpis.snapshot()))
        failed = len(self.dead_letters) + self.missing
        run = seed_kpis.Run(
            self.sent, self.elapsed, self.latencies, failed, self.results, self.quality
        )
        lines.append(seed_kpis.render(seed_kpis.rows(run)))
        lines.append("cache hit rates: " + _cache_line(self.cache))
        writers = collections.Counter(s.writer for p in self.published for s in p.sections)
        lines += [
            f"content: {self.content_sent} requests, {len(self.published)} published, "
            f"{len(self.content_failed)} failed",
            *(
                f"  {p.title!r}: {p.word_count} words, {p.reading_minutes:.1f} min read, "
                f"{p.rounds} review round(s), {len(p.sections)} sections"
                for p in self.published
            ),
            "  sections by writer: " + ", ".join(f"{w} {n}" for w, n in sorted(writers.items())),
            "complete: every request ended in a reply, an escalation or a dead letter"
            if self.complete
            else "INCOMPLETE: some requests have no outcome",
        ]
        return "\n".join(lines)


async def _drive(
    settings: Settings, shipped: list[dict[str, Any]], count: int, content: int, in_flight: int
) -> Summary:
    summary = Summary(sent=count, content_sent=content)
    since = time.time()
    async with Client(settings, source="agentstream.demo") as client:
        t0 = time.monotonic()
        contents = asyncio.create_task(_content(client, content, summary))
        await _inquiries(client, shipped, count, in_flight, summary)
        summary.elapsed = time.monotonic() - t0
        await contents
        summary.quality = await _quality(client, since, len(summary.replies))
    return summary


async def _inquiries(
    client: Client, shipped: list[dict[str, Any]], count: int, in_flight: int, summary: Summary
) -> None:
    room = asyncio.Semaphore(in_flight)
    step = max(1, count // 10)
    # The shipped inquiries are unrelated to each other: one customer each, new ones per
    # run, so that no conversation memory links them (or links runs).
    run = uuid.uuid4().hex[:8]

    async def one(n: int) -> None:
        row = shipped[n % len(shipped)]
        customer = f"demo-{run}-{n}"
        inquiry = Inquiry(customer_id=customer, text=row["text"], lang=row.get("lang"))
        async with room:
            started = time.monotonic()
            try:
                reply = await client.ask(
                    INQUIRIES, inquiry, key=customer.encode(), timeout=ASK_TIMEOUT
                )
            except RequestFailed as err:
                summary.dead_letters.append(str(err))
                return
            except RequestTimeout:
                summary.missing += 1
                return
            summary.latencies.append(time.monotonic() - started)
        answer = reply.parse(Reply)
        summary.replies.append(answer)
        if row["held_out"]:
            lang = str(row["lang"])
            summary.labelled[lang] += 1
            summary.correct[lang] += answer.category == row["category"]
            summary.results.append(_result(row, answer, summary.latencies[-1]))
        done = len(summary.replies) + len(summary.dead_letters) + summary.missing
        if done % step == 0:
            print(f"  {done}/{count} inquiries ended", flush=True)

    await asyncio.gather(*(one(n) for n in range(count)))


def _result(row: dict[str, Any], reply: Reply, seconds: float) -> Result:
    return Result(
        id=str(row["id"]),
        lang=row["lang"],
        group=str(row["category"]),
        expected=Expectation.model_validate(row["expected"]),
        status=reply.status,
        sources=tuple(reply.sources),
        queue=reply.queue,
        action=reply.action,
        seconds=seconds,
    )


async def _content(client: Client, count: int, summary: Summary) -> None:
    async def one(n: int) -> None:
        topic, audience = TOPICS[n % len(TOPICS)]
        request = ContentRequest(topic=topic, audience=audience, max_review_rounds=2)
        try:
            reply = await client.ask(
                CONTENT, request, key=f"demo-{n}".encode(), timeout=CONTENT_TIMEOUT
            )
        except (RequestFailed, RequestTimeout) as err:
            summary.content_failed.append(str(err))
            return
        summary.published.append(reply.parse(Published))
        print(f"  content request {n + 1}/{count} published", flush=True)

    await asyncio.gather(*(one(n) for n in range(count)))


async def _quality(
    client: Client, since: float, expected: int, wait: float = 30.0
) -> list[Quality]:
    """The quality records of this run's replies (one each), read from ``since``."""
    got: dict[str, Quality] = {}

    async def read() -> None:
        async for record in client.results(QUALITY, since=since):
            q = record.parse(Quality)
            got[f"{q.inquiry_id}:{q.status}"] = q
            if len(got) >= expected:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), wait)
    return list(got.values())


async def _cache_rates(ports: list[int]) -> dict[str, dict[str, float]]:
    """Hit rate per cache and level, summed over every worker's /metrics."""
    counts: dict[tuple[str, str, str], float] = collections.defaultdict(float)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        for port in ports:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
                for family in text_string_to_metric_families(text):
                    for s in family.samples:
                        if s.name == "agentstream_cache_requests_total":
                            key = (s.labels["cache"], s.labels["level"], s.labels["result"])
                            counts[key] += s.value
    rates: dict[str, dict[str, float]] = collections.defaultdict(dict)
    for cache, level in {(c, lv) for c, lv, _ in counts}:
        hits, misses = counts[(cache, level, "hit")], counts[(cache, level, "miss")]
        if hits + misses:
            rates[cache][level] = hits / (hits + misses)
    return dict(rates)


def _cache_line(rates: dict[str, dict[str, float]]) -> str:
    if not rates:
        return "no cache lookups"
    return "; ".join(
        f"{cache} " + ", ".join(f"{lv} {r:.0%}" for lv, r in sorted(levels.items()))
        for cache, levels in sorted(rates.items())
    )


def _kpi_line(kpis: dict[str, Any]) -> str:
    return ", ".join(
        f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in kpis.items()
    )


def _shipped_inquiries() -> list[dict[str, Any]]:
    """Every shipped inquiry, languages and categories mixed (a fixed order), each marked
    whether it is in the held-out test split."""
    held_out = {row["id"] for row in read_jsonl("inquiries.test.jsonl")}
    rows = [{**row, "held_out": row["id"] in held_out} for row in read_jsonl("inquiries.jsonl")]
    random.Random(7).shuffle(rows)  # noqa: S311 - an order, not a secret
    return rows
