"""The quality monitor's Prometheus metrics, on the app's registry (the worker's
/metrics).

Only counters and histograms: each worker counts the outcomes of the partitions it
holds, and the KPIs are ratios of sums over every worker, computed by Prometheus
(config/prometheus/rules.yml, ``support:*`` recording rules). A per-worker rate would
be one worker's share of the traffic, and rates do not add up."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, Summary

from schemas.support import Quality

RESOLUTION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class SupportMetrics:
    """``agentstream_support_*``: replies by status and category, quality scores and the
    time to resolution."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.replies = Counter(
            "agentstream_support_replies",
            "Replies sent to customers, by status and category.",
            ("status", "category"),
            registry=registry,
        )
        self.score = Summary(
            "agentstream_support_quality_score",
            "Quality score of each reply (agents.support.quality), 0 to 1.",
            registry=registry,
        )
        self.resolution = Histogram(
            "agentstream_support_resolution_seconds",
            "Seconds from an inquiry's arrival to the reply that resolved it.",
            buckets=RESOLUTION_BUCKETS,
            registry=registry,
        )

    def record(self, quality: Quality) -> None:
        self.replies.labels(quality.status, quality.category).inc()
        self.score.observe(quality.score)
        if quality.status != "escalated":
            self.resolution.observe(quality.latency_seconds)
