"""Every Prometheus metric of a worker, owned by one object on an injected registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10)
SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)


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
        self.handler_duration = Histogram(
            "agentstream_handler_duration_seconds",
            "Time in the handler per event, retries included.",
            at,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "agentstream_batch_size", "Events per window.", at, buckets=SIZE_BUCKETS, registry=r
        )
        self.batch_wait = Histogram(
            "agentstream_batch_wait_seconds",
            "Time from a window's first event to its close.",
            at,
            buckets=LATENCY_BUCKETS,
            registry=r,
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
        self.lag = Gauge(
            "agentstream_consumer_lag",
            "High watermark minus position, per partition.",
            (*at, "partition"),
            registry=r,
        )
        self.cache = Counter(
            "agentstream_cache_requests",
            "Cache lookups by level (l1, l2) and result (hit, miss).",
            ("agent", "level", "result"),
            registry=r,
        )
