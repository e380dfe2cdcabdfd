"""Knowledge-base data and retrieval: the calibrated score is judged on queries it was not
fitted on."""

import re
from typing import Any

import pytest

from agents.shared.datasets import read_jsonl
from agents.shared.retrieval import KBEntry, KnowledgeBase


@pytest.fixture(scope="module")
def entries() -> list[KBEntry]:
    return [KBEntry.from_record(r) for r in read_jsonl("kb.jsonl")]


@pytest.fixture(scope="module")
def queries() -> list[dict[str, Any]]:
    return read_jsonl("kb_queries.jsonl")


def test_kb_entries(entries: list[KBEntry]) -> None:
    assert len(entries) >= 70
    assert len({e.id for e in entries}) == len(entries)
    for e in entries:
        assert re.fullmatch(rf"kb-{e.lang}-\d{{3}}", e.id)
        assert e.category in ("faq", "technical", "billing", "sales", "general")
        assert e.title
        assert e.question
        assert e.answer
        if e.category == "technical":
            assert len(e.steps) >= 2, e.id
    assert {(e.lang, e.category) for e in entries} == {
        (lang, c)
        for lang in ("en", "zh")
        for c in ("faq", "technical", "billing", "sales", "general")
    }


def test_kb_queries_point_at_entries_of_their_language(
    entries: list[KBEntry], queries: list[dict[str, Any]]
) -> None:
    assert len(queries) >= 150
    ids = {e.id: e for e in entries}
    for q in queries:
        if q["answer_id"] is not None:
            assert ids[q["answer_id"]].lang == q["lang"]
    unanswerable = [q for q in queries if q["answer_id"] is None]
    assert len(unanswerable) >= 30
    assert {q["lang"] for q in unanswerable} == {"en", "zh"}


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, je voudrais annuler ma commande",
        "¿Dónde está mi pedido?",
        "Wie kann ich mein Passwort zurücksetzen?",
        "Мой заказ не пришёл",
        "asdf qwerty zxcv",
    ],
)
def test_text_that_shares_no_word_has_no_candidate(text: str) -> None:
    assert KnowledgeBase.shipped().candidates(text) == []


@pytest.mark.parametrize(
    ("text", "entry"),
    [("How long does a refund take?", "kb-en-026"), ("退款一般多久能到账", "kb-zh-026")],
)
def test_a_plain_question_finds_its_entry_first(text: str, entry: str) -> None:
    found = KnowledgeBase.shipped().candidates(text)
    assert found[0].entry.id == entry
    assert [c.raw for c in found] == sorted((c.raw for c in found), reverse=True)
    assert all(0.0 <= c.coverage <= 1.0 for c in found)
    assert found[0].margin >= 0 >= found[-1].margin


def test_candidates_are_of_the_language_and_the_allowed_entries() -> None:
    kb = KnowledgeBase.shipped()
    text = "my card was charged twice"
    found = kb.candidates(text, lang="en", allowed=lambda e: e.category == "billing")
    assert found
    assert {c.entry.category for c in found} == {"billing"}
    assert {c.entry.lang for c in found} == {"en"}
    assert kb.candidates(text, k=0) == []
    assert kb.candidates(text, lang="en", allowed=lambda e: False) == []


def test_an_entry_ruled_out_is_no_rival() -> None:
    """The best entry ruled out, the next one's margin is to those left: its distance to
    the one ruled out no longer counts against it."""
    kb = KnowledgeBase.shipped()
    text = "How do I reset my password?"
    best, second = kb.candidates(text, lang="en")[:2]
    alone = kb.candidates(text, lang="en", allowed=lambda e: e.id != best.entry.id)[0]
    assert alone.entry.id == second.entry.id
    assert second.margin < 0 < alone.margin


def test_get() -> None:
    kb = KnowledgeBase.shipped()
    entry = kb.get("kb-en-013")
    assert entry is not None
    assert entry.category == "technical"
    assert entry.steps
    assert kb.get("kb-xx-999") is None
