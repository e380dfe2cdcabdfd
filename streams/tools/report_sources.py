"""Where `agentstream report` gets its snapshots: the workers' /metrics, sampled on a
timer (no Prometheus needed), or a Prometheus server's range API."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp

from streams.tools.report_data import PREFIX, Key, Snapshot, labels_of, parse_exposition

#: Prometheus refuses range queries of more points than this per series.
MAX_POINTS = 11_000


def metrics_url(target: str) -> str:
    """``host:port`` or a URL, as the worker's /metrics URL."""
    url = target if "://" in target else f"http://{target}"
    if urlsplit(url).path in ("", "/"):
        url = url.rstrip("/") + "/metrics"
    return url


class Sampler:
    """Scrapes every URL each ``every`` seconds for ``duration`` seconds. The snapshots
    taken so far stay in :attr:`snapshots` when the run is interrupted."""

    def __init__(self, urls: list[str], every: float, duration: float) -> None:
        self.urls = urls
        self.every = every
        self.duration = duration
        self.snapshots: list[Snapshot] = []
        self.errors: dict[str, str] = {}  # the last failure of each URL
        self._stop = asyncio.Event()

    @property
    def ticks(self) -> int:
        """Snapshots in a full run: one at the start, then one every ``every`` seconds."""
        return int(self.duration / self.every + 1e-9) + 1

    def stop(self) -> None:
        """End the run after the snapshot being taken, if any."""
        self._stop.set()

    async def run(self, on_snapshot: Callable[[Snapshot], None] | None = None) -> None:
        timeout = aiohttp.ClientTimeout(total=min(self.every, 5.0))
        async with aiohttp.ClientSession(timeout=timeout) as http:
            start = time.monotonic()
            for tick in range(self.ticks):
                wait = max(0.0, start + tick * self.every - time.monotonic())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), wait)
                if self._stop.is_set():
                    return
                snapshot = await self._snapshot(http)
                self.snapshots.append(snapshot)
                if on_snapshot is not None:
                    on_snapshot(snapshot)

    async def _snapshot(self, http: aiohttp.ClientSession) -> Snapshot:
        at = time.time()
        scraped = await asyncio.gather(*(self._scrape(http, url) for url in self.urls))
        samples: dict[Key, float] = {}
        for got in scraped:
            samples.update(got or {})
        answered = frozenset(
            u for u, got in zip(self.urls, scraped, strict=True) if got is not None
        )
        return Snapshot(at, samples, answered)

    async def _scrape(self, http: aiohttp.ClientSession, url: str) -> dict[Key, float] | None:
        try:
            async with http.get(url) as response:
                response.raise_for_status()
                return parse_exposition(url, await response.text())
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:  # ValueError: not metrics
            self.errors[url] = str(e) or type(e).__name__
            return None


async def from_prometheus(base: str, since: float, step: float, end: float) -> list[Snapshot]:
    """Every ``agentstream_*`` series of the ``since`` seconds before ``end``, one
    snapshot every ``step`` seconds up to ``end`` itself; a source is a scrape target
    (``job/instance``)."""
    points = math.ceil(since / step - 1e-9)
    if points > MAX_POINTS:
        raise ValueError(f"{since:.0f} s at a {step:g} s step is over {MAX_POINTS} points")
    start = end - points * step
    params = {
        "query": f'{{__name__=~"{PREFIX}.+"}}',
        "start": f"{start:.3f}",
        "end": f"{end:.3f}",
        "step": f"{step:g}",
    }
    url = base.rstrip("/") + "/api/v1/query_range"
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as http,
        http.get(url, params=params) as response,
    ):
        body = await response.json(content_type=None)
    if body.get("status") != "success":
        raise ValueError(f"{url}: {body.get('errorType')}: {body.get('error')}")
    return _snapshots(body["data"]["result"], start, step, points + 1)


def _snapshots(
    result: list[dict[str, object]], start: float, step: float, count: int
) -> list[Snapshot]:
    times = [start + i * step for i in range(count)]
    samples: list[dict[Key, float]] = [{} for _ in times]
    sources: list[set[str]] = [set() for _ in times]
    for series in result:
        metric = dict(series["metric"])  # type: ignore[call-overload]
        name = metric.pop("__name__")
        if name.endswith("_created"):
            continue
        source = f"{metric.pop('job', '')}/{metric.pop('instance', '')}"
        key_labels = labels_of(metric)
        for at, value in series["values"]:  # type: ignore[attr-defined]
            i = round((float(at) - start) / step)
            if 0 <= i < len(times):
                samples[i][source, name, key_labels] = float(value)
                sources[i].add(source)
    return [
        Snapshot(at, s, frozenset(src)) for at, s, src in zip(times, samples, sources, strict=True)
    ]
