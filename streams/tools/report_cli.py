"""``agentstream report``: a run's main panels as one PNG, from the workers' /metrics
sampled while it runs (``--scrape``) or from a Prometheus server (``--prometheus``)."""

from __future__ import annotations

import asyncio
import math
import re
import signal
import time
from pathlib import Path
from typing import Annotated

import aiohttp
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from streams.tools import report as model
from streams.tools.report_data import Snapshot, increase
from streams.tools.report_sources import Sampler, from_prometheus, metrics_url

err = Console(stderr=True)
UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def seconds(text: str) -> float:
    """``90``, ``90s``, ``10m``, ``1.5h`` or ``1d`` in seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if match is None or float(match[1]) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration such as 90s, 10m or 1h")
    return float(match[1]) * UNITS[match[2]]


def report_cmd(
    scrape: Annotated[
        list[str] | None,
        typer.Option(help="a worker's /metrics (host:port or URL; repeat or comma-separate)"),
    ] = None,
    duration: Annotated[float, typer.Option(min=1, help="--scrape: seconds to sample")] = 60.0,
    every: Annotated[float, typer.Option(min=0.2, help="--scrape: seconds between")] = 2.0,
    prometheus: Annotated[
        str | None, typer.Option(help="a Prometheus server's URL, e.g. http://localhost:9090")
    ] = None,
    since: Annotated[str, typer.Option(help="--prometheus: how far back, e.g. 10m")] = "10m",
    step: Annotated[
        str, typer.Option(help="--prometheus: resolution, not below the scrape interval")
    ] = "15s",
    out: Annotated[Path, typer.Option(help="the PNG to write")] = Path("report.png"),
    data: Annotated[
        Path | None, typer.Option(help="also write the panels' numbers to this JSON file")
    ] = None,
) -> None:
    """Throughput, handling latency (p50/p95/p99), batch sizes, errors and dead letters,
    consumer lag and cache hit rates of a run, as one PNG. --scrape samples workers'
    /metrics for --duration seconds (Ctrl-C or SIGTERM stops early and still writes the
    report); --prometheus reads the last --since from a Prometheus server instead."""
    if (scrape is None) == (prometheus is None):
        raise typer.BadParameter("give either --scrape or --prometheus")
    if prometheus is not None:
        source = prometheus
        snapshots = _fetch(prometheus, seconds(since), seconds(step))
    else:
        urls = [metrics_url(u) for item in scrape or [] for u in item.split(",") if u.strip()]
        if not urls:
            raise typer.BadParameter("--scrape needs a worker's host:port or URL")
        source = urls[0] if len(urls) == 1 else f"{urls[0]} and {len(urls) - 1} more"
        snapshots = _sample(urls, duration, every)
    if sum(1 for s in snapshots if s.sources) < 2:
        err.print(f"[red]error:[/] fewer than two snapshots with data from {source}")
        raise typer.Exit(1)
    from streams.tools.report_png import render  # matplotlib: only when drawing

    report = model.build(source, snapshots)
    width, height = render(report, out)
    if data is not None:
        data.write_bytes(orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2))
    _summary(report, out, width, height, len(snapshots))


def _sample(urls: list[str], duration: float, every: float) -> list[Snapshot]:
    sampler = Sampler(urls, every, duration)
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=err, transient=True,
    )  # fmt: skip
    task = progress.add_task(f"sampling {len(urls)} worker(s)", total=sampler.ticks)
    handled = 0.0

    def tick(snapshot: Snapshot) -> None:
        nonlocal handled
        if len(sampler.snapshots) > 1:
            handled += sum(increase(sampler.snapshots[-2], snapshot, model.HANDLED).values())
        answered = f"{len(snapshot.sources)}/{len(urls)} answered"
        if len(sampler.snapshots) == 1:
            progress.console.print(f"first snapshot: {answered}; counting from here")
        progress.update(task, advance=1, description=f"{answered}, handled {handled:,.0f}")

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop)
        await sampler.run(tick)

    def stop() -> None:
        progress.console.print("stopped: reporting what was sampled")
        sampler.stop()

    with progress:
        try:
            asyncio.run(run())
        except KeyboardInterrupt:  # before the handlers were installed
            err.print("stopped")
    for url, error in sampler.errors.items():
        err.print(f"[yellow]warning:[/] {url}: {error}")
    return sampler.snapshots


def _fetch(base: str, since: float, step: float) -> list[Snapshot]:
    with err.status(f"querying {base}"):
        try:
            return asyncio.run(from_prometheus(base, since, step, time.time()))
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            err.print(f"[red]error:[/] {base}: {e}")
            raise typer.Exit(1) from e


def _summary(report: model.Report, out: Path, width: int, height: int, n: int) -> None:
    t = report.totals
    rate = t.handled / report.seconds if report.seconds else math.nan
    print(f"wrote {out} ({width}x{height}): {report.sources} source(s), {n} snapshots "
          f"over {report.seconds:.0f} s")  # fmt: skip
    print(f"handled {t.handled:,.0f} events ({rate:,.1f}/s), consumed {t.consumed:,.0f}, "
          f"produced {t.produced:,.0f}, errors {t.errors:,.0f}, "
          f"dead letters {t.dead_letters:,.0f}, retries {t.retries:,.0f}")  # fmt: skip
    print(f"handling latency p50 {t.p50_ms:,.1f} ms, p95 {t.p95_ms:,.1f} ms, "
          f"p99 {t.p99_ms:,.1f} ms")  # fmt: skip
    empty = [p.title for p in report.panels if not p.has_data()]
    if empty:
        print("nothing to show in: " + ", ".join(empty))
