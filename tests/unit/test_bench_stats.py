"""The benchmark suite's pure figures: percentiles, ratios, the memory and seed
verdicts, and the Kafka tools' output parsing. (Speed itself is measured by the
benchmarks, never here.)"""

import math

import pytest

from bench.kafka_perf import parse_consumer, parse_producer
from bench.parts.memory import growth_limit, late_growth
from bench.parts.seed import sustained
from bench.stats import in_ms, pct, ratio, spread
from bench.throughput import rotated


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert pct(values, 0.5) == 50.0
    assert pct(values, 0.99) == 99.0
    assert pct(values, 1.0) == 100.0
    assert pct([7.0], 0.99) == 7.0
    assert math.isnan(pct([], 0.5))


def test_spread_sorts_and_converts() -> None:
    s = spread([0.003, 0.001, 0.002])
    assert s == {"p50": 0.002, "p95": 0.003, "p99": 0.003, "max": 0.003}
    assert in_ms(s)["p50"] == pytest.approx(2.0)
    assert math.isnan(spread([])["max"])


def test_ratio_of_missing_figures_is_none() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None
    assert ratio(1.0, 0.0) is None
    assert ratio(math.nan, 1.0) is None


def test_rounds_start_with_a_different_contestant() -> None:
    names = ["a", "b", "c"]
    assert [rotated(names, n)[0] for n in range(4)] == ["a", "b", "c", "a"]
    assert sorted(rotated(names, 1)) == names


def test_memory_growth_compares_the_halves() -> None:
    flat = [100.0, 120.0, 121.0, 121.0, 120.5, 121.0]
    assert late_growth(flat) == 0.0
    rising = [100.0, 110.0, 120.0, 130.0, 140.0, 150.0]
    assert late_growth(rising) == 30.0
    assert growth_limit(rising) == 8.0
    assert growth_limit([400.0, 400.0]) == 20.0


def _row(rate: float, p99: float | None, **kw: float) -> dict[str, object]:
    row = {"rate": rate, "sent": 100, "replies": 100, "failed": 0, "timeouts": 0,
           "sent_per_s": rate, "ms": {"p99": p99}}  # fmt: skip
    return {**row, **kw}


def test_sustained_rate_needs_every_reply_under_the_limit_at_pace() -> None:
    rows = [_row(50, 300.0), _row(100, 900.0), _row(200, 2500.0)]
    assert sustained(rows) == 100
    assert sustained([_row(50, 300.0, replies=99)]) is None
    assert sustained([_row(50, 300.0, sent_per_s=40.0)]) is None
    assert sustained([_row(50, None)]) is None


def test_kafka_tool_output_is_parsed() -> None:
    produced = parse_producer(
        "100 records sent, 50.0 records/sec\n"
        "5000 records sent, 91234.5 records/sec (17.40 MB/sec), 12.50 ms avg latency, "
        "80.00 ms max latency, 10 ms 50th."
    )
    assert produced == {"records": 5000.0, "msg_per_s": 91234.5, "avg_latency_ms": 12.5}
    consumed = parse_consumer(
        "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, "
        "rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n"
        "[2026-01-01 00:00:00,000] INFO joined the group (x)\n"
        "2026-01-01 00:00:00:000, 2026-01-01 00:00:01:000, 3.8, 3.3, 20000, 17316.0, 689, "
        "466, 8.1, 42918.4\n"
    )
    assert consumed["records"] == 20000.0
    assert consumed["msg_per_s"] == 42918.4
    with pytest.raises(RuntimeError):
        parse_consumer("no csv here")
