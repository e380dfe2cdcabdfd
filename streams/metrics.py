"""Every Prometheus metric of a worker, owned by one object on an injected registry."""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
# Cache lookups: microseconds in process, a millisecond or so over the network.
CACHE_BUCKETS = (0.00001, 0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1)


class Metrics:
    """``agentstream_*`` metrics; labels ``agent`` and ``topic`` throughout."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r, at = self.registry, ("agent", "topic")
        self.consumed = Counter(
            "agentstream_messages_consumed", "Records taken from a mailbox.", at, registry=r
        )
        self.produced = Counter(
            "agentstream_messages_produced", "Records acknowledged by the broker.", at, registry=r
        )
        self.handler_duration = LoopHistogram(
            "agentstream_handler_duration_seconds",
            "Time in the handler per event, retries included.",
            at,
            LATENCY_BUCKETS,
            r,
        )
        self.batch_size = LoopHistogram(
            "agentstream_batch_size", "Events per window.", at, SIZE_BUCKETS, r
        )
        self.batch_wait = LoopHistogram(
            "agentstream_batch_wait_seconds",
            "Time from a window's first event to its close.",
            at,
            LATENCY_BUCKETS,
            r,
        )
        self.errors = Counter(
            "agentstream_errors", "Failures by stage.", (*at, "stage"), registry=r
        )
        self.dead_letters = Counter(
            "agentstream_dead_letters", "Dead letters written.", at, registry=r
        )
        self.retries = Counter("agentstream_retries", "Handler re-runs.", at, registry=r)
        self.inflight = Gauge(
            "agentstream_inflight_messages", "Events taken but not yet done.", at, registry=r
        )
        self.held = Gauge(
            "agentstream_partitions_held",
            "Partitions paused on their own: their oldest event is still running and they "
            "hold their share of the backlog.",
            at,
            registry=r,
        )
        self.lag = Gauge(
            "agentstream_consumer_lag",
            "End offset minus committed offset, per assigned partition (every 2 s).",
            (*at, "partition"),
            registry=r,
        )
        self.cache = cache_metrics(r)


class CacheMetrics:
    """Metrics of the tiered caches (:mod:`streams.cache`); label ``cache`` throughout.
    One set per registry, shared by every cache registered on it."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = r = registry
        self.requests = Counter(
            "agentstream_cache_requests",
            "Cache lookups by level (l1, l2, l3) and result (hit, miss, error).",
            ("cache", "level", "result"),
            registry=r,
        )
        self.lookup = LoopHistogram(
            "agentstream_cache_lookup_seconds",
            "Time of one lookup, per level.",
            ("cache", "level"),
            CACHE_BUCKETS,
            r,
        )
        self.degraded = Gauge(
            "agentstream_cache_degraded",
            "1 while the cache's Redis (L2) is unavailable and it runs on L1 and L3.",
            ("cache",),
            registry=r,
        )


_cache_metrics: weakref.WeakKeyDictionary[CollectorRegistry, CacheMetrics] = (
    weakref.WeakKeyDictionary()
)


def cache_metrics(registry: CollectorRegistry) -> CacheMetrics:
    """The cache metrics on ``registry``, registered there on first use."""
    metrics = _cache_metrics.get(registry)
    if metrics is None:
        metrics = _cache_metrics[registry] = CacheMetrics(registry)
    return metrics


class LoopHistogram(Collector):
    """A Prometheus histogram observed from one event loop thread.

    ``prometheus_client.Histogram`` takes a lock per observation and walks the buckets in
    Python, which costs more than a whole event's handling on the hot path. Here an
    observation is a ``bisect`` and two additions; scrapes from another thread read the
    plain numbers, which may be one observation apart from each other, as with any
    unsynchronised scrape.
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: CollectorRegistry,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = tuple(sorted(buckets))
        self._children: dict[tuple[str, ...], HistogramChild] = {}
        registry.register(self)

    def labels(self, *values: str) -> HistogramChild:
        if len(values) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {values}")
        child = self._children.get(values)
        if child is None:
            child = self._children[values] = HistogramChild(self.bounds)
        return child

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for values, child in list(self._children.items()):
            family.add_metric(list(values), child.cumulative(), child.sum)
        yield family


class HistogramChild:
    """One label set of a :class:`LoopHistogram`."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last one is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, float]]:
        """``(le, count)`` pairs, each count including every bucket below it."""
        total = 0
        out: list[tuple[str, float]] = []
        les = (*map(floatToGoString, self.bounds), "+Inf")
        for bound, count in zip(les, self.counts, strict=True):
            total += count
            out.append((bound, total))
        return out
