"""`agentstream report`: the arithmetic on snapshots, and the command against a /metrics
endpoint served in process."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
import typer
from prometheus_client import generate_latest
from typer.testing import CliRunner

from streams.metrics import Metrics
from streams.tools import report
from streams.tools.cli import cli
from streams.tools.report_cli import seconds
from streams.tools.report_data import (
    Snapshot,
    increase,
    intervals,
    labels_of,
    parse_exposition,
    quantile,
)
from streams.tools.report_sources import metrics_url

INF = math.inf


def test_quantiles_interpolate_within_a_bucket_as_promql_does() -> None:
    slow = {1.0: 80, 2.0: 90, 5.0: 100, 10.0: 100, INF: 100}
    assert quantile(0.95, slow) == pytest.approx(3.5)
    assert quantile(0.99, slow) == pytest.approx(4.7)
    assert quantile(0.5, slow) == pytest.approx(0.625)
    # Past the highest finite bound: that bound.
    assert quantile(0.99, {1.0: 90, 5.0: 95, INF: 100}) == 5.0
    assert math.isnan(quantile(0.5, {1.0: 0, INF: 0}))
    assert math.isnan(quantile(0.5, {}))


def _snap(at: float, sources: set[str], **values: float) -> Snapshot:
    """Samples named ``<source>__<metric>`` with one label set (agent="a")."""
    samples = {
        (key.split("__")[0], key.split("__")[1], labels_of({"agent": "a"})): value
        for key, value in values.items()
    }
    return Snapshot(at, samples, frozenset(sources))


def test_increase_survives_restarts_and_new_series_but_needs_a_baseline() -> None:
    before = _snap(0, {"w1", "w2"}, w1__c_total=100, w2__c_total=5)
    after = _snap(1, {"w1", "w2", "w3"}, w1__c_total=130, w2__c_total=2, w3__c_total=50)
    # w1 grew by 30; w2 restarted and counted 2 since; w3 has no baseline yet.
    assert increase(before, after, "c_total") == {(): 32.0}
    # A series new in a source that answered before counts from zero.
    created = _snap(2, {"w1", "w2"}, w1__c_total=130, w2__c_total=2, w1__e_total=3)
    assert increase(after, created, "e_total") == {(): 3.0}
    assert increase(after, created, "c_total", by=("agent",)) == {("a",): 0.0}


def test_a_missed_scrape_moves_counts_to_the_next_interval() -> None:
    snaps = [
        _snap(0, {"w1"}, w1__c_total=0),
        _snap(1, set()),  # w1 timed out
        _snap(2, {"w1"}, w1__c_total=40),
    ]
    pairs = intervals(snaps)
    assert [sum(increase(a, b, "c_total").values()) for a, b in pairs] == [0, 40.0]


def _exposition(metrics: Metrics) -> dict[tuple[str, str, tuple[tuple[str, str], ...]], float]:
    return parse_exposition("w", generate_latest(metrics.registry).decode())


def test_build_reports_rates_quantiles_and_totals_from_real_metrics() -> None:
    metrics = Metrics()
    handled = metrics.handler_duration.labels("work", "t")
    consumed = metrics.consumed.labels("work", "t")
    snaps = [Snapshot(100.0, _exposition(metrics), frozenset({"w"}))]
    for second in range(1, 4):
        for _ in range(20):
            consumed.inc()
            handled.observe(0.003)
        metrics.lag.labels("work", "t", "0").set(second * 10)
        snaps.append(Snapshot(100.0 + 2 * second, _exposition(metrics), frozenset({"w"})))
    metrics.errors.labels("work", "t", "handle").inc()
    snaps.append(Snapshot(108.0, _exposition(metrics), frozenset({"w"})))

    built = report.build("test", snaps)
    assert (built.seconds, built.times) == (8.0, [2.0, 4.0, 6.0, 8.0])
    assert (built.totals.consumed, built.totals.handled, built.totals.errors) == (60, 60, 1)
    assert built.totals.handled_by_agent == {"work": 60}
    assert 2.5 < built.totals.p50_ms < 5.0  # within the 2.5 ms .. 5 ms bucket
    panels = {p.title: p for p in built.panels}
    throughput = {s.label: s.values for s in panels["Throughput"].series}
    assert throughput["consumed"] == [10.0, 10.0, 10.0, 0.0]
    lag = {s.label: s.values for s in panels["Consumer lag"].series}
    assert lag["work"] == [10.0, 20.0, 30.0, 30.0]
    failures = {s.label: s.values for s in panels["Errors and dead letters"].series}
    assert failures["errors (handle)"][-1] == 0.5
    assert not panels["Cache hit rate"].has_data()
    data = built.to_json()
    assert data["panels"][1]["series"][0]["values"][-1] is None  # NaN: nothing handled


def test_durations_and_urls() -> None:
    assert [seconds(t) for t in ("90", "90s", "10m", "1.5h", "1d")] == [
        90, 90, 600, 5400, 86400,
    ]  # fmt: skip
    with pytest.raises(typer.BadParameter, match="not a duration"):
        seconds("10 minutes")
    assert metrics_url("127.0.0.1:6066") == "http://127.0.0.1:6066/metrics"
    assert metrics_url("http://w:6066/") == "http://w:6066/metrics"
    assert metrics_url("https://w/custom") == "https://w/custom"


class _Worker(BaseHTTPRequestHandler):
    """/metrics of a worker that handles 10 events between two scrapes."""

    metrics = Metrics()
    scrapes = 0

    def do_GET(self) -> None:
        cls = type(self)
        if cls.scrapes:
            for _ in range(10):
                cls.metrics.consumed.labels("work", "t").inc()
                cls.metrics.handler_duration.labels("work", "t").observe(0.02)
        cls.scrapes += 1
        body = generate_latest(cls.metrics.registry)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def worker() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Worker)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_report_command_samples_for_its_duration(worker: str, tmp_path: Path) -> None:
    out, data = tmp_path / "r.png", tmp_path / "r.json"
    args = ["report", "--scrape", worker, "--duration", "2", "--every", "0.5"]
    result = CliRunner().invoke(cli, [*args, "--out", str(out), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    totals = orjson.loads(data.read_bytes())["totals"]
    assert _Worker.scrapes == 5  # at 0, 0.5, 1, 1.5 and 2 s
    assert totals["handled"] == totals["consumed"] == 10 * (_Worker.scrapes - 1)
    assert "handled 40 events" in result.output


def test_report_command_refuses_what_it_cannot_report(tmp_path: Path) -> None:
    runner = CliRunner()
    neither = runner.invoke(cli, ["report", "--out", str(tmp_path / "x.png")])
    assert neither.exit_code == 2
    assert "either --scrape or --prometheus" in neither.output
    nobody = runner.invoke(cli, ["report", "--scrape", "127.0.0.1:9", "--duration", "1",
                                 "--every", "0.5", "--out", str(tmp_path / "x.png")])  # fmt: skip
    assert nobody.exit_code == 1
    assert "fewer than two snapshots with data" in nobody.output
    assert not (tmp_path / "x.png").exists()
