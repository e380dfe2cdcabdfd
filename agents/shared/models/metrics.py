"""The model client's Prometheus metrics, on the worker's registry when given one (so
they appear on its /metrics), else on a registry of their own."""

from __future__ import annotations

import weakref

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60)

#: ``outcome`` label values of ``agentstream_model_requests_total``.
OUTCOMES = (
    "ok",  # a usable answer
    "bad_answer",  # 200, but the answer does not parse or validate
    "rejected",  # 4xx other than 429: the request itself is wrong (key, model, size)
    "rate_limited",  # 429
    "server_error",  # 5xx
    "connection_error",
    "timeout",
    "breaker_open",  # refused locally, no request sent
)


class ModelMetrics:
    """Labelled by ``model``: clients of several models share one set per registry
    (``ModelMetrics.on``), since a registry refuses a metric name twice."""

    @classmethod
    def on(cls, registry: CollectorRegistry | None) -> ModelMetrics:
        """The metrics on ``registry``, created there on first use; a fresh registry
        of their own when None."""
        if registry is None:
            return cls()
        metrics = _SHARED.get(registry)
        if metrics is None:
            metrics = _SHARED[registry] = cls(registry)
        return metrics

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "agentstream_model_requests",
            "Model HTTP requests by outcome (one per attempt; breaker_open: refused unsent).",
            ("model", "outcome"),
            registry=r,
        )
        self.tokens = Counter(
            "agentstream_model_tokens",
            "Tokens reported by the model's usage field, kind prompt or completion.",
            ("model", "kind"),
            registry=r,
        )
        self.latency = Histogram(
            "agentstream_model_latency_seconds",
            "Time from sending a model request to its answer or failure.",
            ("model",),
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.breaker_open = Gauge(
            "agentstream_model_breaker_open",
            "1 while the model's circuit breaker refuses calls (open or probing), else 0.",
            ("model",),
            registry=r,
        )


_SHARED: weakref.WeakKeyDictionary[CollectorRegistry, ModelMetrics] = weakref.WeakKeyDictionary()
