"""Figures the benchmark parts share: nearest-rank percentiles of latencies."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (``q`` in 0..1); NaN when empty."""
    if not values:
        return math.nan
    return values[max(0, min(len(values) - 1, math.ceil(q * len(values)) - 1))]


def spread(values: Iterable[float]) -> dict[str, float]:
    """p50, p95, p99 and max of ``values`` (any order), in their unit."""
    v = sorted(values)
    return {**{name: pct(v, q) for name, q in QUANTILES.items()}, "max": v[-1] if v else math.nan}


def in_ms(seconds: dict[str, float]) -> dict[str, float]:
    """A :func:`spread` of seconds, in milliseconds."""
    return {k: v * 1000 for k, v in seconds.items()}


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is 0."""
    if a is None or b is None or b == 0 or math.isnan(a) or math.isnan(b):
        return None
    return a / b
