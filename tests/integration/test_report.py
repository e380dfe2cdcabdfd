"""`agentstream report --scrape` against a real worker: a valid PNG whose panels all have
data, and sampled totals that match what was sent."""

from __future__ import annotations

import asyncio
import signal
import struct
import sys
from pathlib import Path

import orjson
from matplotlib.image import imread
from prometheus_client.parser import text_string_to_metric_families

from config import Settings
from tests.integration.observed import get, observed_worker, send_jobs
from tests.integration.workers import ROOT, wait_until

N, FAILING = 400, 4
PNG = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG
    assert head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


async def test_report_samples_a_worker_and_draws_every_panel(
    settings: Settings, topic: str, tmp_path: Path
) -> None:
    out, data = tmp_path / "report.png", tmp_path / "report.json"
    async with observed_worker(settings, topic, tmp_path / "worker") as port:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "streams", "report", "--scrape", f"127.0.0.1:{port}",
            "--duration", "600", "--every", "1", "--out", str(out), "--data", str(data),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stderr is not None
        try:
            # Nothing is sent before the first snapshot: the report counts from there.
            line = await asyncio.wait_for(proc.stderr.readline(), 60)
            assert line.startswith(b"first snapshot: 1/1 answered"), line
            await send_jobs(settings, topic, N, failing=FAILING)

            async def caught_up() -> bool:
                metrics = (await get(f"http://127.0.0.1:{port}/metrics"))[1]
                lag = [
                    s.value
                    for f in text_string_to_metric_families(metrics)
                    for s in f.samples
                    if s.name == "agentstream_consumer_lag" and s.labels["topic"] == topic
                ]
                return lag == [0.0]

            await wait_until(caught_up, 15, "consumer lag 0")
            await asyncio.sleep(2.5)  # a snapshot or two of the final figures (one per second)
        finally:
            proc.send_signal(signal.SIGINT)  # Ctrl-C: stop sampling, report what was sampled
            stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, stderr.decode()
    printed = stdout.decode()
    print(printed)

    width, height = png_size(out)
    assert f"wrote {out} ({width}x{height})" in printed
    pixels = imread(out)
    assert pixels.shape[:2] == (height, width)
    assert pixels.std() > 0.05  # drawn, not a blank canvas

    report = orjson.loads(data.read_bytes())
    totals = report["totals"]
    assert totals["consumed"] == N
    assert totals["handled"] == N - FAILING  # handler calls that returned
    assert totals["handled_by_agent"] == {"work": N - FAILING}
    assert (totals["errors"], totals["dead_letters"]) == (FAILING, FAILING)
    assert totals["p50_ms"] is not None
    assert f"handled {N - FAILING:,} events" in printed
    titles = [panel["title"] for panel in report["panels"]]
    assert titles == [
        "Throughput", "Handling latency", "Batch sizes", "Errors and dead letters",
        "Consumer lag", "Cache hit rate",
    ]  # fmt: skip
    for panel in report["panels"]:
        values = [v for s in panel["series"] for v in s["values"] if v is not None]
        assert values, f"{panel['title']} has no data"
    throughput = {s["label"]: s["values"] for s in report["panels"][0]["series"]}
    assert max(v for v in throughput["consumed"] if v is not None) > 0
    cache = {s["label"] for s in report["panels"][5]["series"]}
    assert f"squares-{topic} l1" in cache
