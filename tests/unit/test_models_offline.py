"""The offline model: the same request always gets the same output, every text it writes
says it is offline, and its review and revision rules make drafts better."""

from __future__ import annotations

import asyncio
import re

import pytest

from agents.shared.classifier import Classification, InquiryClassifier
from agents.shared.coalesce import Coalesced
from agents.shared.models import ModelClient, ReviewResult
from agents.shared.models.base import SECTION_KINDS
from agents.shared.models.offline import OfflineModel, predict_many
from agents.shared.retrieval import KBEntry
from schemas.support import CATEGORIES, URGENCIES, Lang

LABEL = "[offline model]"
ZH_LABEL = "【离线模型】"

REFUND = KBEntry(
    id="kb-refund",
    lang="en",
    category="billing",
    title="Refunds",
    question="How do I get a refund?",
    answer="Refunds go back to the original payment method within 5 business days.",
    steps=("Open Billing", "Choose the payment", "Click Request refund"),
)
INVOICE = KBEntry(
    id="kb-invoice",
    lang="en",
    category="billing",
    title="Invoices",
    question="Where are my invoices?",
    answer="Invoices are under Billing > History.",
    steps=(),
)


def words(text: str) -> int:
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return len(re.findall(r"[A-Za-z0-9']+", body.replace(LABEL, "")))


class Keywords:
    """A small, predictable classifier, so the history rules can be shown exactly."""

    def predict(self, text: str, lang: Lang | None = None) -> Classification:
        if "invoice" in text:
            return Classification(category="billing", urgency="normal", confidence=0.9)
        if "crash" in text:
            return Classification(category="technical", urgency="low", confidence=0.8)
        return Classification(category="general", urgency="low", confidence=0.2)


def test_it_is_a_model_client_labelled_offline() -> None:
    model = OfflineModel()
    assert isinstance(model, ModelClient)
    assert (model.label, model.offline) == ("offline", True)


async def test_the_same_request_gets_the_same_output() -> None:
    a, b = OfflineModel(), OfflineModel()
    for model in (a, b):
        assert model is not None
    args = ("technical", "Setting up Kafka", "event streaming", "platform engineers", "brief")
    assert await a.write(*args) == await b.write(*args)
    assert await a.plan("event streaming", "engineers", None) == await b.plan(
        "event streaming", "engineers", None
    )
    draft = await a.write(*args)
    assert await a.review("Setting up Kafka", draft, 1) == await b.review(
        "Setting up Kafka", draft, 1
    )
    assert await a.answer("refund?", "en", [REFUND]) == await b.answer("refund?", "en", [REFUND])


async def test_answers_come_from_the_passages_and_are_labelled() -> None:
    model = OfflineModel()

    en = await model.answer("How do I get my money back?", "en", [REFUND, INVOICE])
    zh = await model.answer("怎么退款", "zh", [REFUND])
    nothing = await model.answer("Can I pay in gold?", "en", [])
    nothing_zh = await model.answer("可以用黄金付款吗", "zh", [])

    assert en.startswith(REFUND.answer)
    assert "1. Open Billing\n2. Choose the payment\n3. Click Request refund" in en
    assert "Related articles: Invoices" in en
    assert en.endswith(LABEL)
    assert zh.endswith(ZH_LABEL)
    assert "操作步骤" in zh
    assert nothing.endswith(LABEL)
    assert "follow up" in nothing
    assert nothing_zh.endswith(ZH_LABEL)


async def test_the_default_plan_covers_every_kind_and_is_labelled() -> None:
    plan = await OfflineModel().plan("event streaming", "platform engineers", None)

    assert {s.kind for s in plan} == set(SECTION_KINDS)
    assert plan[0].title == "Why event streaming matters to platform engineers"
    assert all(s.brief.endswith(LABEL) for s in plan)


async def test_given_sections_are_kept_in_order_with_a_kind_from_their_words() -> None:
    titles = ["Introduction", "Market data", "How to configure it", "Open questions", "Summary"]

    plan = await OfflineModel().plan("Kafka", "engineers", titles)

    assert [s.title for s in plan] == titles
    assert [s.kind for s in plan] == ["creative", "research", "technical", "research", "editor"]
    assert all(s.brief.endswith(LABEL) and "engineers" in s.brief for s in plan)


@pytest.mark.parametrize("kind", SECTION_KINDS)
async def test_drafts_are_headed_labelled_and_of_a_realistic_length(kind: str) -> None:
    draft = await OfflineModel().write(kind, "Why it matters", "event streaming", "CTOs", "b")

    assert draft.startswith("## Why it matters\n")
    assert draft.endswith(LABEL)
    assert draft.count(LABEL) == 1
    assert 120 <= words(draft) <= 300


async def test_different_kinds_read_differently() -> None:
    model = OfflineModel()
    drafts = {
        kind: await model.write(kind, "Why it matters", "event streaming", "CTOs", "b")
        for kind in SECTION_KINDS
    }
    bodies = [set(d.split(". ")) for d in drafts.values()]
    for i, one in enumerate(bodies):
        for other in bodies[i + 1 :]:
            assert len(one & other) <= 1  # at most a shared sentence about the reader


@pytest.mark.parametrize("kind", SECTION_KINDS)
async def test_revising_a_draft_by_its_findings_scores_higher(kind: str) -> None:
    model = OfflineModel()
    draft = await model.write(kind, "Getting started", "event streaming", "CTOs", "b")

    first = await model.review("Getting started", draft, 1)
    revised = await model.revise("Getting started", draft, list(first.findings))
    second = await model.review("Getting started", revised, 2)

    assert first.findings  # a draft always leaves something to do
    assert any(f.startswith("takeaway:") for f in first.findings)
    assert second.score > first.score
    assert second == ReviewResult(score=1.0, findings=())
    assert revised.endswith(LABEL)
    assert revised.count(LABEL) == 1


async def test_review_names_each_problem_and_revise_fixes_it() -> None:
    model = OfflineModel()
    text = "Kafka is a log. Kafka is a log. It keeps events in order per partition."

    verdict = await model.review("Basics", text, 1)
    rules = [f.split(":")[0] for f in verdict.findings]
    revised = await model.revise("Basics", text, list(verdict.findings))
    again = await model.review("Basics", revised, 2)

    assert rules == ["heading", "length", "repeat", "reader", "takeaway"]
    assert verdict.score == 0.05
    assert revised.startswith("## Basics\n")
    assert revised.count("Kafka is a log.") == 1
    assert again.findings == ()
    assert again.score == 1.0


async def test_long_sentences_are_a_first_round_style_point() -> None:
    model = OfflineModel()
    long_one = ", ".join(["the broker keeps the log"] * 10) + "."
    text = f"## T\n\n{long_one} In short, you keep the log."

    first = await model.review("T", text, 1)
    later = await model.review("T", text, 2)
    revised = await model.revise("T", text, list(first.findings))

    assert any(f.startswith("long-sentence:") for f in first.findings)
    assert not any(f.startswith("long-sentence:") for f in later.findings)
    assert not any(
        f.startswith("long-sentence:") for f in (await model.review("T", revised, 1)).findings
    )


async def test_revise_leaves_text_alone_for_findings_it_does_not_know() -> None:
    model = OfflineModel()
    draft = await model.write("editor", "Wrap-up", "event streaming", "CTOs", "b")

    revised = await model.revise("Wrap-up", draft, ["Tone: a bit dry"])

    assert revised == draft


async def test_history_shifts_category_and_urgency_only_by_its_rules() -> None:
    model = OfflineModel(classifier=Keywords())

    alone = await model.classify("it still does not work", "en", [])
    follow_up = await model.classify("it still does not work", "en", ["the app crash again"])
    repeated = await model.classify(
        "my invoice is wrong", "en", ["invoice missing", "hello", "invoice still missing"]
    )
    once = await model.classify("my invoice is wrong", "en", ["invoice missing"])

    assert (alone.category, alone.confidence) == ("general", 0.2)
    assert (follow_up.category, follow_up.urgency) == ("technical", "low")
    assert follow_up.confidence == pytest.approx(0.5)
    assert (repeated.category, repeated.urgency) == ("billing", "high")
    assert (once.category, once.urgency) == ("billing", "normal")


async def test_without_history_it_is_the_shipped_classifier() -> None:
    text = "I was charged twice for my subscription this month, please refund one payment."

    got = await OfflineModel().classify(text, "en", [])

    assert got == InquiryClassifier.shipped().predict(text, "en")
    assert got.category in CATEGORIES
    assert got.urgency in URGENCIES
    assert got == await OfflineModel().classify(text, "en", [])


async def test_latency_is_asked_once_per_call() -> None:
    asked: list[int] = []

    def latency() -> float:
        asked.append(1)
        return 0.001

    model = OfflineModel(latency=latency, classifier=Keywords())
    await model.classify("invoice", "en", [])
    await model.plan("t", "a", None)
    await model.review("t", "x", 1)

    assert len(asked) == 3


class Counting:
    """A predictor that records how it was called."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, text: str, lang: Lang | None = None) -> Classification:
        return self.predict_many([(text, lang)])[0]

    def predict_many(self, items: list[tuple[str, Lang | None]]) -> list[Classification]:
        if any(text == "boom" for text, _ in items):
            raise RuntimeError("model failed")
        self.calls.append(len(items))
        return [Classification("faq", "low", len(text) / 100) for text, _ in items]


async def test_concurrent_predictions_share_one_pass_and_repeats_come_from_memory() -> None:
    counting = Counting()
    batched = Coalesced(predict_many(counting))
    items = [[(f"text {i}", "en"), ("shared turn", "en")] for i in range(20)]
    results = await asyncio.gather(*(batched(i) for i in items))  # type: ignore[arg-type]
    assert counting.calls == [21]  # one pass: 20 texts and the shared turn once
    assert [r[0].confidence for r in results] == [len(f"text {i}") / 100 for i in range(20)]
    again = await batched([("text 3", "en"), ("shared turn", "en")])
    assert counting.calls == [21]  # both from the memo
    assert again == results[3]


async def test_a_failed_pass_fails_every_call_waiting_on_it() -> None:
    batched = Coalesced(predict_many(Counting()))
    outcomes = await asyncio.gather(
        batched([("fine", "en")]), batched([("boom", "en")]), return_exceptions=True
    )
    assert all(isinstance(o, RuntimeError) for o in outcomes)
    assert await batched([("fine", "en")])  # the next pass works
