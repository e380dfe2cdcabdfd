"""The quality monitor's score: the documented formula and its flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agents.support.quality import assess
from schemas.support import Outcome

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def outcome(status: str, seconds: float) -> Outcome:
    return Outcome(
        inquiry_id="i1",
        customer_id="c1",
        status=status,  # type: ignore[arg-type]
        category="faq",
        urgency="normal",
        confidence=0.9,
        inquiry_text="q",
        reply_text="a",
        agent="knowledge_base",
        received_at=T0,
        replied_at=T0 + timedelta(seconds=seconds),
    )


def test_a_quick_neutral_answer_scores_high() -> None:
    q = assess(outcome("answered", 2.0), 0.0, 0.0)
    assert q.score == pytest.approx(0.4 + 0.25 + 0.15 * 0.5 + 0.2)
    assert (q.flagged, q.reasons, q.latency_seconds) == (False, [], 2.0)


def test_a_slow_escalation_is_flagged_with_reasons() -> None:
    q = assess(outcome("escalated", 120.0), 0.0, 0.0)
    assert q.score == pytest.approx(0.4 * 0.4 + 0.25 * 30 / 120 + 0.15 * 0.5 + 0.2)
    assert q.flagged
    assert any("escalated" in r for r in q.reasons)
    assert any(r.startswith("slow") for r in q.reasons)


def test_an_upset_customer_answered_by_a_machine_is_flagged() -> None:
    q = assess(outcome("answered", 1.0), -0.8, 0.2)
    assert q.flagged
    assert q.score < assess(outcome("answered", 1.0), 0.0, 0.2).score
    assert "an upset customer was answered automatically" in q.reasons


def test_a_person_has_hours_not_seconds() -> None:
    q = assess(outcome("human", 3600.0), -0.8, 0.5)
    assert not q.flagged
    assert q.latency_seconds == 3600.0


def test_clocks_the_wrong_way_round_give_zero_latency() -> None:
    assert assess(outcome("answered", -5.0), 0.0, 0.0).latency_seconds == 0.0
