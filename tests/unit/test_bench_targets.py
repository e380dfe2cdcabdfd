"""Targets of the benchmark suite: met, missed or not measured, and their tally."""

import math

from bench.targets import Target, tally


def test_target_verdicts() -> None:
    assert Target("a", "ratio", 0.95, ">=", 0.9).met is True
    assert Target("b", "ratio", 0.85, ">=", 0.9).met is False
    assert Target("c", "p99", 25.0, "<=", 25.0, " ms").met is True
    assert Target("d", "ahead", 1.0, ">", 1.0).met is False
    assert Target("e", "rss", 149.0, "<", 150.0).met is True


def test_missing_values_are_not_measured() -> None:
    for value in (None, math.nan):
        target = Target("x", "anything", value, ">=", 1.0)
        assert target.met is None
        assert target.verdict == "not measured"


def test_json_and_line_say_the_same() -> None:
    target = Target("latency.p99_100", "agentstream p99 at 100/s", 31.0, "<=", 25.0, " ms")
    row = target.to_json()
    assert row["met"] is False
    assert row["limit"] == 25.0
    assert "MISSED" in target.line()
    assert "latency.p99_100" in target.line()


def test_tally() -> None:
    targets = [
        Target("a", "", 1.0, ">=", 0.5),
        Target("b", "", 0.1, ">=", 0.5),
        Target("c", "", None, ">=", 0.5),
        Target("d", "", 2.0, ">=", 0.5),
    ]
    assert tally(targets) == {"met": 2, "missed": 1, "not_measured": 1}
