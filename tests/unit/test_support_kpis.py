"""KPIs from quality records: definitions, duplicates, percentiles."""

from __future__ import annotations

from typing import Any

import pytest

from agents.support.kpis import Kpis, percentile
from schemas.support import Quality


def quality(inquiry: str, status: str, latency: float, score: float = 0.8, **kw: Any) -> Quality:
    return Quality(
        inquiry_id=inquiry,
        customer_id="c1",
        status=status,  # type: ignore[arg-type]
        category=kw.pop("category", "faq"),
        inquiry_sentiment=0.0,
        reply_sentiment=0.0,
        latency_seconds=latency,
        score=score,
        flagged=kw.pop("flagged", False),
    )


def test_empty_snapshot_is_all_zero() -> None:
    snap = Kpis().snapshot()
    assert snap["automation_rate"] == snap["satisfaction"] == snap["time_to_resolution_p95"] == 0
    assert snap["inquiries"] == snap["records"] == 0


def test_rates_count_inquiries_once() -> None:
    kpis = Kpis()
    kpis.add(quality("a", "answered", 1.0, 1.0))
    kpis.add(quality("b", "answered", 3.0, 0.9))
    kpis.add(quality("c", "escalated", 0.5, 0.6, flagged=True))
    kpis.add(quality("d", "escalated", 0.5, 0.7))
    kpis.add(quality("c", "human", 600.0, 0.8))  # a person answered c later
    snap = kpis.snapshot()
    assert snap["inquiries"] == 4
    assert snap["automation_rate"] == 0.5
    assert snap["escalation_rate"] == 0.5
    assert snap["resolution_rate"] == 0.75  # a, b by the agents, c by a person
    assert snap["satisfaction"] == pytest.approx((1.0 + 0.9 + 0.6 + 0.7 + 0.8) / 5)
    assert (snap["answered"], snap["escalated"], snap["human"], snap["flagged"]) == (2, 2, 1, 1)
    assert snap["time_to_resolution_p50"] == 3.0  # over 1, 3 and 600 s
    assert snap["time_to_resolution_p95"] == 600.0


def test_duplicates_are_counted_not_added() -> None:
    kpis = Kpis()
    first = quality("a", "answered", 1.0)
    kpis.add(first)
    assert kpis.has(first)
    kpis.add(quality("a", "answered", 2.0))
    snap = kpis.snapshot()
    assert (snap["records"], snap["duplicates"], snap["inquiries"]) == (1, 1, 1)


def test_human_answer_to_an_unseen_escalation_counts_the_inquiry() -> None:
    kpis = Kpis()
    kpis.add(quality("x", "human", 100.0))
    snap = kpis.snapshot()
    assert (snap["inquiries"], snap["escalated"], snap["resolution_rate"]) == (1, 1, 1.0)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) == 0.0
