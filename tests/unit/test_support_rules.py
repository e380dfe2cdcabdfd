"""The router's rules: categories and urgency from English and Chinese patterns."""

from __future__ import annotations

import pytest

from agents.support import rules


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("I want a refund for last month", "billing"),
        ("我要退款，上个月扣费两次", "billing"),
        ("The app crashes every time I open it", "technical"),
        ("上传文件时一直报错", "technical"),
        ("This is unacceptable, I will call my lawyer", "complaint"),
        ("我要投诉你们的客服", "complaint"),
        ("Could you send me a quote for the enterprise plan?", "sales"),
        ("How do I reset my password?", "faq"),
    ],
)
def test_clear_cases_get_their_category(text: str, category: str) -> None:
    found = rules.apply(text)
    assert found.category == category
    assert 0 < found.confidence <= 1


def test_nothing_matched_is_no_guess() -> None:
    found = rules.apply("hello there")
    assert (found.category, found.confidence, found.urgency) == (None, 0.0, None)


def test_competing_categories_lower_the_confidence() -> None:
    alone = rules.apply("I was charged twice")
    both = rules.apply("I was charged twice, this is unacceptable")
    assert alone.category == "billing"
    assert both.confidence < max(both.evidence.values())
    assert set(both.evidence) == {"billing", "complaint"}


def test_more_matches_mean_more_evidence() -> None:
    one = rules.apply("please refund me")
    two = rules.apply("please refund the invoice")
    assert two.evidence["billing"] > one.evidence["billing"]


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("Checkout is down for all users!", "critical"),
        ("we need this fixed asap", "critical"),
        ("请马上处理", "critical"),
        ("This is urgent", "high"),
        ("no rush, just curious about the roadmap", "low"),
        ("where is my parcel", None),
    ],
)
def test_urgency_is_the_most_urgent_match(text: str, level: str | None) -> None:
    assert rules.urgency(text.lower()) == level


def test_most_urgent_and_rank() -> None:
    assert rules.most_urgent("low", None, "high", "normal") == "high"
    assert rules.most_urgent() == "normal"
    assert [rules.rank(u) for u in ("low", "normal", "high", "critical")] == [0, 1, 2, 3]
