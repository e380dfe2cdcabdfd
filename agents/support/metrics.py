"""The quality monitor's Prometheus metrics, on the app's registry (the worker's
/metrics). The rate gauges are this worker's :class:`~agents.support.kpis.Kpis` over
the outcomes of the partitions it holds."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from agents.support.kpis import Kpis
from schemas.support import Quality

RESOLUTION_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)
GAUGES = ("automation_rate", "escalation_rate", "task_success_rate", "satisfaction")


class SupportMetrics:
    """``agentstream_support_*``: replies by status and category, the KPI gauges and the
    time to resolution."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.replies = Counter(
            "agentstream_support_replies",
            "Replies sent to customers, by status and category.",
            ("status", "category"),
            registry=registry,
        )
        self.gauges = {
            name: Gauge(
                f"agentstream_support_{name}",
                f"KPI {name} over the outcomes this worker has seen (agents.support.kpis).",
                registry=registry,
            )
            for name in GAUGES
        }
        self.resolution = Histogram(
            "agentstream_support_resolution_seconds",
            "Seconds from an inquiry's arrival to the reply that resolved it.",
            buckets=RESOLUTION_BUCKETS,
            registry=registry,
        )

    def record(self, quality: Quality, kpis: Kpis) -> None:
        """Count ``quality`` (already added to ``kpis``) and refresh the gauges."""
        self.replies.labels(quality.status, quality.category).inc()
        if quality.status != "escalated":
            self.resolution.observe(quality.latency_seconds)
        snapshot = kpis.snapshot()
        for name, gauge in self.gauges.items():
            gauge.set(snapshot[name])
