"""The content system's stages as plain functions: planning and its fallback, assembly,
the published record, and how the app is wired."""

from __future__ import annotations

import asyncio

import pytest

from agents.content import ContentApp, ContentSettings, create_app, planner
from agents.content.integrator import draft_of
from agents.content.publisher import published_of
from agents.content.review import review, revise
from agents.content.templates import fallback_plan, section_text
from agents.shared.models.base import ReviewResult, SectionPlan
from config import Settings
from schemas.content import (
    ContentRequest,
    Draft,
    Job,
    ReviewNote,
    Revision,
    Section,
    SectionDraft,
    SectionFindings,
)
from tests.content_fixtures import Faulty


class Scripted(Faulty):
    """A model client whose plan is given, or fails, or never answers; what it writes,
    scores and revises is fixed."""

    label = "scripted"

    def __init__(self, plans: list[SectionPlan] | Exception | None) -> None:
        super().__init__()
        self.plans = plans

    async def plan(
        self, topic: str, audience: str, sections: list[str] | None
    ) -> list[SectionPlan]:
        if isinstance(self.plans, Exception):
            raise self.plans
        if self.plans is None:
            await asyncio.Event().wait()
        assert isinstance(self.plans, list)
        return self.plans

    async def write(self, kind: str, title: str, topic: str, audience: str, brief: str) -> str:
        return f"{kind} text"

    async def review(self, title: str, text: str, round: int) -> ReviewResult:
        return ReviewResult(1.0, ())

    async def revise(self, title: str, text: str, findings: list[str]) -> str:
        return text


def app_with(model: Scripted, options: ContentSettings | None = None) -> ContentApp:
    return create_app(Settings(), model, prefix="x.", options=options)


REQUEST = ContentRequest(topic="event streaming", audience="store managers")


async def test_the_model_plan_is_used_and_unknown_kinds_go_to_the_editor() -> None:
    plans = [SectionPlan("A", "research", "a"), SectionPlan("B", "poetry", "b")]  # type: ignore[arg-type]
    got = await planner.plan(app_with(Scripted(plans)), REQUEST)
    assert [(p.title, p.kind) for p in got] == [("A", "research"), ("B", "editor")]


@pytest.mark.parametrize("plans", [RuntimeError("down"), [], None])
async def test_a_failing_empty_or_stuck_planner_gives_the_standard_plan(
    plans: list[SectionPlan] | Exception | None,
) -> None:
    got = await planner.plan(
        app_with(Scripted(plans), ContentSettings(call_deadline=0.05)), REQUEST
    )
    assert got == fallback_plan(REQUEST.topic, REQUEST.audience, None)
    assert [p.kind for p in got] == ["creative", "research", "technical", "editor"]


async def test_a_plan_that_ignores_the_requested_sections_is_replaced() -> None:
    request = ContentRequest(topic="t", audience="a", sections=["One", "Two", "Three"])
    got = await planner.plan(app_with(Scripted([SectionPlan("Other", "research", "x")])), request)
    assert [p.title for p in got] == ["One", "Two", "Three"]
    assert [p.kind for p in got] == ["research", "creative", "technical"]


def test_templates_follow_the_language_of_the_topic() -> None:
    assert [p.title for p in fallback_plan("事件流", "店长", None)] == [
        "引言",
        "背景",
        "实践",
        "总结",
    ]
    assert "事件流" in section_text("引言", "事件流", "店长", "简介")
    assert "event streaming" in section_text("Intro", "event streaming", "ops", "b")


JOB = Job(request_id="r1", run="e1", topic="t", audience="a", title="Kafka", max_review_rounds=1)


def test_the_first_draft_and_the_published_record() -> None:
    written = [
        ("technical", "one two three", None),
        ("fallback", "四五六", "technical writer: down"),
    ]
    sections = [
        SectionDraft.model_validate(
            {
                "job": JOB,
                "index": i,
                "count": 2,
                "kind": "technical",
                "title": f"S{i}",
                "writer": writer,
                "text": text,
                "reason": reason,
            }
        )
        for i, (writer, text, reason) in enumerate(written)
    ]
    draft = draft_of(sections)
    assert [(s.writer, s.words, s.reason) for s in draft.sections] == [
        ("technical", 3, None),
        ("fallback", 3, "technical writer: down"),
    ]
    note = ReviewNote(round=1, score=0.9, findings=[])
    final = draft.model_copy(update={"round": 1, "reviews": [note]})
    published = published_of(final, Scripted([]))
    assert published.body == "# Kafka\n\n## S0\n\none two three\n\n## S1\n\n四五六\n"
    assert [s.model_dump() for s in published.sections] == [
        s.model_dump(exclude={"text"}) for s in draft.sections
    ]
    assert (published.request_id, published.title, published.rounds) == ("r1", "Kafka", 1)
    assert published.word_count == 1 + (1 + 3) + (1 + 3)  # title, then heading and text
    assert (published.model, published.offline, published.reviews) == ("scripted", True, [note])


def test_the_app_reads_and_writes_prefixed_mailboxes() -> None:
    app = app_with(Scripted([]))
    assert app.id == "x.content"
    mailboxes = sorted(s.mailbox for s in app.specs)
    assert mailboxes == sorted(
        ["x.content.requests", "x.content.drafts", "x.content.review", "x.content.revise",
         "x.content.publish", "x.content.write.fallback", "x.content.write.research",
         "x.content.write.creative", "x.content.write.technical", "x.content.write.editor"]
    )  # fmt: skip
    assert {s.reply_topic for s in app.specs} == {"x.content.published"}
    assert app.partitions == 6
    assert all(s.timeout == 35.0 for s in app.specs)


class Critic(Scripted):
    """Scores each section by its title; sections in ``broken`` get no answer."""

    def __init__(self, scores: dict[str, float], broken: set[str]) -> None:
        super().__init__([])
        self.scores, self.broken = scores, broken

    async def review(self, title: str, text: str, round: int) -> ReviewResult:
        if title in self.broken:
            raise ConnectionError("down")
        assert text.startswith(f"## {title}\n\n")
        return ReviewResult(self.scores[title], (f"fix {title}",))

    async def revise(self, title: str, text: str, findings: list[str]) -> str:
        if title in self.broken:
            raise ConnectionError("down")
        return f"## {title}\n\nrevised {title} ({', '.join(findings)})"


def draft_with(*titles: str) -> Draft:
    return Draft(
        job=JOB,
        sections=[
            Section(index=i, title=t, kind="editor", writer="editor", words=1, text=f"{t} text")
            for i, t in enumerate(titles)
        ],
    )


async def test_the_piece_scores_as_its_weakest_section_and_weak_ones_are_revised() -> None:
    app = app_with(Critic({"A": 0.9, "B": 0.3}, broken={"C"}))
    note, weak = await review(app, draft_with("A", "B", "C"))
    assert note.round == 0
    assert note.score == 0.3
    assert note.findings[:2] == ["A: fix A", "B: fix B"]
    assert note.findings[2].startswith("C: not reviewed: reviewer (C): ConnectionError: down")
    assert weak == [SectionFindings(index=1, findings=["fix B"])]


async def test_a_revision_replaces_only_the_weak_sections() -> None:
    app = app_with(Critic({}, broken=set()))
    draft = draft_with("A", "B")
    revised, failures = await revise(app, Revision(draft=draft, revise=[SectionFindings(
        index=1, findings=["fix B"])]))  # fmt: skip
    assert failures == []
    assert revised is not None
    assert revised.round == 1
    assert [s.text for s in revised.sections] == ["A text", "revised B (fix B)"]


async def test_a_revision_that_changes_nothing_says_so() -> None:
    app = app_with(Critic({}, broken={"B"}))
    weak = [SectionFindings(index=1, findings=["fix B"])]
    revised, failures = await revise(app, Revision(draft=draft_with("A", "B"), revise=weak))
    assert revised is None
    assert failures == ["B: not revised: reviser (B): ConnectionError: down"]


def test_the_package_exports_a_sorted_public_api() -> None:
    import agents.content

    exported = list(agents.content.__all__)
    assert exported == sorted(exported)
    assert all(hasattr(agents.content, name) for name in exported)
    assert agents.content.app.id == "content"
