"""Conversation memory records: parsing, repeats, what came before."""

from __future__ import annotations

from dataclasses import asdict

from agents.support import texts
from agents.support.answering import raised
from agents.support.memory import Turn, before, parse


def turn(inquiry: str, category: str = "faq") -> Turn:
    return Turn(inquiry, f"text {inquiry}", "en", category, "normal", "2025-01-01T00:00:00")  # type: ignore[arg-type]


def test_repeats_of_a_turn_count_once_in_order() -> None:
    raw = [asdict(turn("a")), asdict(turn("b")), asdict(turn("a")), asdict(turn("c"))]
    assert [t.inquiry_id for t in parse(raw)] == ["a", "b", "c"]


def test_records_that_are_not_turns_are_skipped() -> None:
    bad = [None, "x", {"inquiry_id": "z"}, {**asdict(turn("y")), "category": "weather"}]
    assert [t.inquiry_id for t in parse([*bad, asdict(turn("ok"))])] == ["ok"]
    assert parse(None) == []


def test_before_is_what_came_earlier() -> None:
    turns = [turn("a"), turn("b"), turn("c")]
    assert [t.inquiry_id for t in before(turns, "c")] == ["a", "b"]
    assert before(turns, "a") == []
    assert before(turns, "unknown") == turns


def test_tickets_are_stable_per_inquiry() -> None:
    assert texts.ticket_for("abc") == texts.ticket_for("abc")
    assert texts.ticket_for("abc") != texts.ticket_for("abd")
    assert texts.ticket_for("abc").startswith("T-")


def test_complaints_go_up_one_level_at_least_to_high() -> None:
    assert [raised(u) for u in ("low", "normal", "high", "critical")] == [  # type: ignore[arg-type]
        "high",
        "high",
        "critical",
        "critical",
    ]


def test_customer_texts_in_both_languages() -> None:
    assert "T-1" in texts.apology("en", "T-1", "high")
    assert "T-1" in texts.apology("zh", "T-1", "critical")
    assert "抱歉" in texts.apology("zh", "T-1", "high")
    assert "T-2" in texts.escalated("zh", "T-2")
