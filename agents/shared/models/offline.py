"""The offline model: deterministic, no network, and labelled wherever it writes text.

It lets both shipped systems run end to end on a laptop, in CI and in benchmarks, and it
never passes for a real model: answers and drafts end with ``[offline model]`` (or
``【离线模型】`` in Chinese), plan briefs carry the same label, and its ``label``
("offline") is what agents record in the ``model`` field of their outputs.

Classification is the shipped inquiry classifier, shifted by the conversation only by
two rules:

- follow-up: a message the classifier is unsure of (confidence below 0.5) after a
  message it was sure of takes that message's category, with the mean confidence of
  the two ("it still does not work" after a login problem is technical);
- repeated contact: two or more of the last five messages in the final category raise
  the urgency one step, at most to ``high`` (``critical`` stays the classifier's call).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, cast

from agents.shared.classifier import Classification, InquiryClassifier
from agents.shared.coalesce import Coalesced
from agents.shared.models import critique, templates
from agents.shared.models.base import ReviewResult, SectionPlan
from schemas.support import URGENCIES, Lang

if TYPE_CHECKING:
    from agents.shared.retrieval import KBEntry

SURE = 0.5
RECENT_TURNS = 5
REPEATS_TO_ESCALATE = 2

_EN = {
    "none": "I'm sorry, I could not find an answer to this in our help articles. A member of "
    "our team will follow up with you.",
    "steps": "Steps:",
    "related": "Related articles:",
    "label": templates.LABEL_EN,
}
# Chinese text takes Chinese punctuation.
_ZH = {
    "none": "抱歉，我们的帮助文档中没有找到这个问题的答案，客服同事会尽快跟进。",
    "steps": "操作步骤：",
    "related": "相关内容：",
    "label": templates.LABEL_ZH,
}


class Predictor(Protocol):
    def predict(self, text: str, lang: Lang | None = None) -> Classification: ...


Item = tuple[str, "Lang | None"]


def predict_many(predictor: Predictor) -> Callable[[list[Item]], list[Classification]]:
    """The predictor's own ``predict_many`` (one pass for many texts), or one at a time."""
    many = getattr(predictor, "predict_many", None)
    if many is not None:
        return cast("Callable[[list[Item]], list[Classification]]", many)
    return lambda items: [predictor.predict(text, lang) for text, lang in items]


class OfflineModel:
    """``latency`` (seconds, or a function returning them per call) makes each call wait
    like a real model would, for benchmarks; the default answers at once. ``classifier``
    defaults to the shipped one, trained on first use."""

    label = "offline"
    offline = True

    def __init__(
        self,
        latency: float | Callable[[], float] = 0.0,
        classifier: Predictor | None = None,
    ) -> None:
        self._latency = latency
        self._classifier = classifier
        # Concurrent classifications share one pass of the classifier, and a
        # conversation's earlier turns are not predicted again (agents.shared.coalesce).
        self._batched: Coalesced[Item, Classification] | None = None

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification:
        await self._pause()
        if self._batched is None:
            predictor = self._classifier or InquiryClassifier.shipped()
            self._batched = Coalesced(predict_many(predictor))
        known: Lang | None = "zh" if lang == "zh" else "en" if lang == "en" else None
        turns = [(turn, known) for turn in history[-RECENT_TURNS:]]
        own, *earlier = await self._batched([(text, known), *turns])
        result = own
        if own.confidence < SURE and earlier and earlier[-1].confidence >= SURE:
            result = dataclasses.replace(
                own,
                category=earlier[-1].category,
                confidence=(own.confidence + earlier[-1].confidence) / 2,
            )
        repeats = sum(1 for c in earlier if c.category == result.category)
        level = URGENCIES.index(result.urgency)
        if repeats >= REPEATS_TO_ESCALATE and level < URGENCIES.index("high"):
            result = dataclasses.replace(result, urgency=URGENCIES[level + 1])
        return result

    async def answer(self, question: str, lang: str, passages: list[KBEntry]) -> str:
        """The best passage's answer and steps, the others' titles as related reading."""
        await self._pause()
        words = _ZH if lang == "zh" else _EN
        if not passages:
            return f"{words['none']}\n\n{words['label']}"
        best, others = passages[0], passages[1:]
        blocks = [best.answer.strip()]
        if best.steps:
            numbered = "\n".join(f"{i}. {step}" for i, step in enumerate(best.steps, 1))
            blocks.append(f"{words['steps']}\n{numbered}")
        if others:
            blocks.append(f"{words['related']} " + "; ".join(p.title for p in others))
        blocks.append(words["label"])
        return "\n\n".join(blocks)

    async def plan(
        self, topic: str, audience: str, sections: list[str] | None
    ) -> list[SectionPlan]:
        await self._pause()
        return templates.plan(topic, audience, sections)

    async def write(self, kind: str, title: str, topic: str, audience: str, brief: str) -> str:
        await self._pause()
        return templates.write(kind, title, topic, audience)

    async def review(self, title: str, text: str, round: int) -> ReviewResult:
        await self._pause()
        return critique.review(title, text, round)

    async def revise(self, title: str, text: str, findings: list[str]) -> str:
        await self._pause()
        return critique.revise(title, text, findings)

    async def aclose(self) -> None:
        return None

    async def _pause(self) -> None:
        seconds = self._latency() if callable(self._latency) else self._latency
        if seconds > 0:
            await asyncio.sleep(seconds)
