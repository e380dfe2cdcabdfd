import random

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.metrics import LATENCY_BUCKETS, LoopHistogram


def test_loop_histogram_exposes_what_the_client_histogram_would() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    mine = LoopHistogram("h_seconds", "doc", ("agent",), LATENCY_BUCKETS, ours)
    reference = Histogram("h_seconds", "doc", ("agent",), buckets=LATENCY_BUCKETS, registry=theirs)
    rng = random.Random(7)
    values = [rng.expovariate(20) for _ in range(5000)] + [0.001, 0.5, 10.0, 99.0, 0.0]
    for i, v in enumerate(values):
        agent = "a" if i % 3 else "b"
        mine.labels(agent).observe(v)
        reference.labels(agent).observe(v)
    assert _samples(ours) == _samples(theirs)


def test_wrong_label_count_is_refused() -> None:
    h = LoopHistogram("x", "doc", ("agent", "topic"), (1.0,), CollectorRegistry())
    with pytest.raises(ValueError, match="takes labels"):
        h.labels("only-one")


def _samples(registry: CollectorRegistry) -> list[str]:
    lines = generate_latest(registry).decode().splitlines()
    # The client also exports a _created timestamp per child, which ours leaves out.
    return sorted(line for line in lines if "_created" not in line and not line.startswith("#"))
