"""What the content system's tests share, in memory (tests/unit, through streams.testing)
and on the broker (tests/integration): a model with faults, requests, and what a complete
Published record looks like."""

from __future__ import annotations

import asyncio

from agents.shared.classifier import Classification
from agents.shared.models.base import ReviewResult, SectionPlan
from agents.shared.models.offline import OfflineModel
from agents.shared.retrieval import KBEntry
from schemas.content import ContentRequest, Published


class Faulty:
    """The offline model with faults: writers of the kinds in ``fail`` raise, those in
    ``hang`` never answer, ``score`` replaces every review's score, and every call takes
    ``delay`` seconds."""

    label = "offline"
    offline = True

    def __init__(
        self,
        *,
        fail: frozenset[str] = frozenset(),
        hang: frozenset[str] = frozenset(),
        score: float | None = None,
        delay: float = 0.0,
    ) -> None:
        self.inner = OfflineModel(latency=delay)
        self.fail, self.hang, self.score = fail, hang, score

    async def classify(self, text: str, lang: str, history: list[str]) -> Classification:
        return await self.inner.classify(text, lang, history)

    async def answer(self, question: str, lang: str, passages: list[KBEntry]) -> str:
        return await self.inner.answer(question, lang, passages)

    async def plan(
        self, topic: str, audience: str, sections: list[str] | None
    ) -> list[SectionPlan]:
        return await self.inner.plan(topic, audience, sections)

    async def write(self, kind: str, title: str, topic: str, audience: str, brief: str) -> str:
        if kind in self.fail:
            raise ConnectionError(f"{kind} model unreachable")
        if kind in self.hang:
            await asyncio.Event().wait()
        return await self.inner.write(kind, title, topic, audience, brief)

    async def review(self, title: str, text: str, round: int) -> ReviewResult:
        result = await self.inner.review(title, text, round)
        if self.score is None:
            return result
        return ReviewResult(self.score, result.findings or ("takeaway: say more",))

    async def revise(self, title: str, text: str, findings: list[str]) -> str:
        return await self.inner.revise(title, text, findings)

    async def aclose(self) -> None:
        await self.inner.aclose()


def request(n: int, **fields: object) -> ContentRequest:
    topics = ["event streaming for retail", "事件流处理入门", "capacity planning"]
    return ContentRequest.model_validate(
        {"topic": topics[n % len(topics)], "audience": "store managers", **fields}
    )


def check_complete(p: Published, kinds_failed: frozenset[str] = frozenset()) -> None:
    """Every section present once, in order, with its writer and its title in the body."""
    assert [s.index for s in p.sections] == list(range(len(p.sections)))
    assert len(p.sections) >= 1
    for s in p.sections:
        expected = "fallback" if s.kind in kinds_failed else s.kind
        assert s.writer == expected, s
        assert f"## {s.title}" in p.body
        assert s.words > 0
    assert p.word_count > sum(s.words for s in p.sections) // 2
    assert p.reading_minutes > 0
    assert (p.model, p.offline) == ("offline", True)
    assert p.rounds == len(p.reviews) - 1
