"""What `agentstream report` shows: the main panels of a run (throughput, handling
latency, batch sizes, errors and dead letters, consumer lag, cache hit rates) and its
totals, computed from :class:`~streams.tools.report_data.Snapshot` s taken over time.

Every figure counts what happened between the first snapshot and the last one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from streams.tools.report_data import (
    Group,
    Snapshot,
    add_into,
    bucket_increase,
    gauge,
    increase,
    intervals,
    quantile,
)

M = "agentstream_"
HANDLED = M + "handler_duration_seconds_count"
LATENCY = M + "handler_duration_seconds"
BATCH = M + "batch_size"
#: Lines per panel at most; the rest are summed into one "others" line.
MAX_LINES = 8


@dataclass
class Series:
    label: str
    values: list[float] = field(default_factory=list)  # NaN where there is nothing to show


@dataclass
class Panel:
    title: str
    unit: str
    series: list[Series] = field(default_factory=list)
    log: bool = False  # a logarithmic value axis

    def has_data(self) -> bool:
        return any(not math.isnan(v) for s in self.series for v in s.values)


@dataclass
class Totals:
    consumed: float = 0.0
    handled: float = 0.0
    produced: float = 0.0
    errors: float = 0.0
    dead_letters: float = 0.0
    retries: float = 0.0
    p50_ms: float = math.nan
    p95_ms: float = math.nan
    p99_ms: float = math.nan
    handled_by_agent: dict[str, float] = field(default_factory=dict)


@dataclass
class Report:
    source: str
    started: float  # Unix time of the first snapshot
    seconds: float
    sources: int  # workers (or Prometheus instances) seen
    times: list[float]  # seconds from the start, one per interval (its end)
    panels: list[Panel]
    totals: Totals

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _finite(asdict(self))
        return data


def build(source: str, snapshots: Sequence[Snapshot]) -> Report:
    """The panels and totals of consecutive snapshots (two at least)."""
    if len(snapshots) < 2:
        raise ValueError("a report needs two snapshots at least")
    pairs = intervals(snapshots)
    start = snapshots[0].at
    return Report(
        source=source,
        started=start,
        seconds=snapshots[-1].at - start,
        sources=len(frozenset().union(*(s.sources for s in snapshots))),
        times=[b.at - start for _, b in pairs],
        panels=[
            _throughput(pairs),
            _latency(pairs),
            _batch_sizes(pairs),
            _failures(pairs),
            _lag(snapshots[1:]),
            _cache(pairs),
        ],
        totals=_totals(pairs),
    )


Pair = tuple[Snapshot, Snapshot]


def _per_second(pairs: list[Pair], name: str, by: tuple[str, ...] = ()) -> dict[Group, list[float]]:
    lines: dict[Group, list[float]] = {}
    for i, (a, b) in enumerate(pairs):
        for group, grown in increase(a, b, name, by).items():
            lines.setdefault(group, [math.nan] * len(pairs))[i] = grown / max(b.at - a.at, 1e-9)
    return lines


def _total(pairs: list[Pair], name: str) -> float:
    return sum(sum(increase(a, b, name).values()) for a, b in pairs)


def _throughput(pairs: list[Pair]) -> Panel:
    panel = Panel("Throughput", "events / s")
    for label, name in (
        ("consumed", M + "messages_consumed_total"),
        ("handled", HANDLED),
        ("produced", M + "messages_produced_total"),
    ):
        line = _per_second(pairs, name).get((), [math.nan] * len(pairs))
        panel.series.append(Series(label, line))
    return panel


def _quantiles(
    title: str, unit: str, pairs: list[Pair], histogram: str, qs: Sequence[float], scale: float
) -> Panel:
    grown = [bucket_increase(a, b, histogram) for a, b in pairs]
    series = [Series(f"p{q * 100:g}", [quantile(q, g) * scale for g in grown]) for q in qs]
    return Panel(title, unit, series)


def _latency(pairs: list[Pair]) -> Panel:
    panel = _quantiles("Handling latency", "ms", pairs, LATENCY, (0.5, 0.95, 0.99), 1000.0)
    panel.log = True  # a few ms at the median, seconds in the tail
    return panel


def _batch_sizes(pairs: list[Pair]) -> Panel:
    panel = _quantiles("Batch sizes", "events per window", pairs, BATCH, (0.5, 0.95), 1.0)
    sums = [sum(increase(a, b, BATCH + "_sum").values()) for a, b in pairs]
    counts = [sum(increase(a, b, BATCH + "_count").values()) for a, b in pairs]
    mean = [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]
    panel.series.append(Series("mean", mean))
    return panel


def _failures(pairs: list[Pair]) -> Panel:
    panel = Panel("Errors and dead letters", "per s")
    for (stage,), line in sorted(_per_second(pairs, M + "errors_total", ("stage",)).items()):
        panel.series.append(Series(f"errors ({stage})", line))
    dead = _per_second(pairs, M + "dead_letters_total").get((), [math.nan] * len(pairs))
    panel.series.append(Series("dead letters", dead))
    retries = _per_second(pairs, M + "retries_total").get((), [math.nan] * len(pairs))
    panel.series.append(Series("retries", retries))
    return panel


def _lag(snapshots: Sequence[Snapshot]) -> Panel:
    lines: dict[Group, list[float]] = {}
    for i, snap in enumerate(snapshots):
        for group, value in gauge(snap, M + "consumer_lag", ("agent",)).items():
            lines.setdefault(group, [math.nan] * len(snapshots))[i] = value
    return Panel("Consumer lag", "records", _top(lines, lambda g: g[0]))


def _cache(pairs: list[Pair]) -> Panel:
    name = M + "cache_requests_total"
    lines: dict[Group, list[float]] = {}
    for i, (a, b) in enumerate(pairs):
        every = increase(a, b, name, ("cache", "level"))
        hits = increase(a, b, name, ("cache", "level"), lambda labels: labels["result"] == "hit")
        for group, lookups in every.items():
            ratio = 100.0 * hits.get(group, 0.0) / lookups if lookups else math.nan
            lines.setdefault(group, [math.nan] * len(pairs))[i] = ratio
    return Panel("Cache hit rate", "% of lookups", _top(lines, " ".join))


def _top(lines: dict[Group, list[float]], label: Callable[[Group], str]) -> list[Series]:
    """The :data:`MAX_LINES` lines with the largest values, the others summed into one."""
    ranked = sorted(lines.items(), key=lambda item: -_peak(item[1]))
    series = [Series(label(group), values) for group, values in ranked[:MAX_LINES]]
    rest = [values for _, values in ranked[MAX_LINES:]]
    if rest:
        summed = [
            math.fsum(v for v in column if not math.isnan(v)) for column in zip(*rest, strict=True)
        ]
        series.append(Series(f"{len(rest)} others", summed))
    return series


def _peak(values: list[float]) -> float:
    return max((v for v in values if not math.isnan(v)), default=0.0)


def _totals(pairs: list[Pair]) -> Totals:
    buckets: dict[float, float] = {}
    by_agent: dict[str, float] = {}
    for a, b in pairs:
        add_into(buckets, bucket_increase(a, b, LATENCY))
        for (agent,), grown in increase(a, b, HANDLED, ("agent",)).items():
            by_agent[agent] = by_agent.get(agent, 0.0) + grown
    return Totals(
        consumed=_total(pairs, M + "messages_consumed_total"),
        handled=_total(pairs, HANDLED),
        produced=_total(pairs, M + "messages_produced_total"),
        errors=_total(pairs, M + "errors_total"),
        dead_letters=_total(pairs, M + "dead_letters_total"),
        retries=_total(pairs, M + "retries_total"),
        p50_ms=quantile(0.5, buckets) * 1000,
        p95_ms=quantile(0.95, buckets) * 1000,
        p99_ms=quantile(0.99, buckets) * 1000,
        handled_by_agent=dict(sorted(by_agent.items())),
    )


def _finite(value: Any) -> Any:
    """JSON has no NaN: null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
