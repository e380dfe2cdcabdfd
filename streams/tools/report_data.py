"""Snapshots of workers' metrics over time, and the arithmetic `agentstream report` does on
them: counter increases that survive restarts, gauge sums and histogram quantiles.

A snapshot holds every ``agentstream_*`` sample of every source (a worker's /metrics URL,
or a Prometheus ``instance``) at one moment, keyed by source, sample name and labels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

PREFIX = "agentstream_"

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs
Key = tuple[str, str, Labels]  # source, sample name, labels
Group = tuple[str, ...]  # values of the labels a figure is grouped by
Where = Callable[[dict[str, str]], bool]


def labels_of(mapping: Mapping[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


@dataclass(frozen=True)
class Snapshot:
    """Every sample of the sources that answered at ``at`` (Unix time)."""

    at: float
    samples: dict[Key, float] = field(default_factory=dict)
    sources: frozenset[str] = frozenset()

    def matching(
        self, name: str, where: Where | None = None
    ) -> Iterable[tuple[Key, dict[str, str], float]]:
        for key, value in self.samples.items():
            if key[1] == name:
                labels = dict(key[2])
                if where is None or where(labels):
                    yield key, labels, value


def intervals(snapshots: Sequence[Snapshot]) -> list[tuple[Snapshot, Snapshot]]:
    """Consecutive snapshots as ``(before, after)`` pairs, where ``before`` also holds the
    last value seen of every series its source did not report that time (a scrape that
    failed or timed out): what a source counted meanwhile lands in the next interval
    instead of being lost."""
    pairs: list[tuple[Snapshot, Snapshot]] = []
    seen: dict[Key, float] = {}
    sources: set[str] = set()
    for before, after in itertools.pairwise(snapshots):
        seen.update(before.samples)
        sources.update(before.sources)
        pairs.append((Snapshot(before.at, dict(seen), frozenset(sources)), after))
    return pairs


def parse_exposition(source: str, text: str) -> dict[Key, float]:
    """The ``agentstream_*`` samples of a Prometheus text exposition (``_created`` left out)."""
    samples: dict[Key, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name.startswith(PREFIX) and not name.endswith("_created"):
                samples[source, name, labels_of(sample.labels)] = float(sample.value)
    return samples


def increase(
    before: Snapshot,
    after: Snapshot,
    name: str,
    by: tuple[str, ...] = (),
    where: Where | None = None,
) -> dict[Group, float]:
    """How much the counters ``name`` grew from ``before`` to ``after``, summed per value of
    the ``by`` labels. A counter lower than before was reset (its process restarted) and
    counts from zero; one new in a source that answered before counts from zero too (the
    client creates some labelled counters on first use). A source that did not answer
    before has no baseline yet and is left out."""
    out: dict[Group, float] = {}
    for key, labels, value in after.matching(name, where):
        previous = before.samples.get(key)
        if previous is None:
            if key[0] not in before.sources:
                continue
            previous = 0.0
        grew = value - previous if value >= previous else value
        group = tuple(labels.get(label, "") for label in by)
        out[group] = out.get(group, 0.0) + grew
    return out


def gauge(at: Snapshot, name: str, by: tuple[str, ...] = ()) -> dict[Group, float]:
    """The gauges ``name`` at one moment, summed per value of the ``by`` labels."""
    out: dict[Group, float] = {}
    for _, labels, value in at.matching(name):
        group = tuple(labels.get(label, "") for label in by)
        out[group] = out.get(group, 0.0) + value
    return out


def bucket_increase(before: Snapshot, after: Snapshot, histogram: str) -> dict[float, float]:
    """A histogram's bucket counts grown between two snapshots, summed over every label
    but ``le`` (cumulative, keyed by upper bound)."""
    grown = increase(before, after, histogram + "_bucket", by=("le",))
    return {float(le): count for (le,), count in grown.items()}


def quantile(q: float, buckets: Mapping[float, float]) -> float:
    """The ``q`` quantile of cumulative bucket counts, interpolated linearly within the
    bucket it falls in, as PromQL's ``histogram_quantile`` does; NaN without observations."""
    bounds = sorted(buckets)
    if not bounds or not math.isinf(bounds[-1]) or buckets[bounds[-1]] <= 0:
        return math.nan
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower  # above the highest finite bound: that bound, as PromQL says
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def add_into(total: dict[float, float], more: Mapping[float, float]) -> None:
    for bound, count in more.items():
        total[bound] = total.get(bound, 0.0) + count
