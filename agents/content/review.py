"""The reviewer and the reviser. Each section is reviewed on its own (in parallel); the
piece scores as its weakest section. While the request's rounds last, the sections
scoring below the threshold go back for revision, then the piece is reviewed again;
otherwise it goes to the publisher.

A review or revision the model cannot give does not fail the request: that section
counts as reviewed (or keeps its text), and the review note says why."""

from __future__ import annotations

import asyncio

from agents.content.app import ContentApp
from agents.content.calls import Failure, bounded
from agents.content.text import without_heading
from schemas.content import Draft, ReviewNote, Revision, Section, SectionFindings
from streams import Context


def register(app: ContentApp) -> None:
    topics, options = app.mailboxes, app.options

    @app.agent(topics.review, reply_to=topics.published, timeout=options.handler_timeout)
    async def reviewer(msg: Draft, ctx: Context) -> None:
        key = msg.job.request_id.encode()
        note, weak = await review(app, msg)
        reviewed = msg.model_copy(update={"reviews": [*msg.reviews, note]})
        if weak and msg.round < msg.job.max_review_rounds:
            await ctx.forward(topics.revise, Revision(draft=reviewed, revise=weak), key=key)
        else:
            await ctx.forward(topics.publish, reviewed, key=key)

    @app.agent(topics.revise, reply_to=topics.published, timeout=options.handler_timeout)
    async def reviser(msg: Revision, ctx: Context) -> None:
        key = msg.draft.job.request_id.encode()
        revised, failures = await revise(app, msg)
        if revised is None:
            # Nothing changed: another review would say the same. Publish as it stands.
            draft = msg.draft
            last = draft.reviews[-1]
            note = last.model_copy(update={"findings": [*last.findings, *failures]})
            unrevised = draft.model_copy(update={"reviews": [*draft.reviews[:-1], note]})
            await ctx.forward(topics.publish, unrevised, key=key)
            return
        await ctx.forward(topics.review, revised, key=key)


async def review(app: ContentApp, draft: Draft) -> tuple[ReviewNote, list[SectionFindings]]:
    """The note of this round and the sections to revise."""
    model, options = app.model, app.options
    results = await asyncio.gather(
        *(
            bounded(
                model.review(s.title, with_heading(s), draft.round),
                options.call_deadline,
                f"reviewer ({s.title})",
            )
            for s in draft.sections
        )
    )
    findings: list[str] = []
    scores: list[float] = []
    weak: list[SectionFindings] = []
    for section, result in zip(draft.sections, results, strict=True):
        if isinstance(result, Failure):
            findings.append(f"{section.title}: not reviewed: {result.reason}")
            continue
        score = min(1.0, max(0.0, result.score))
        scores.append(score)
        findings += [f"{section.title}: {f}" for f in result.findings]
        if score < options.review_threshold:
            weak.append(SectionFindings(index=section.index, findings=list(result.findings)))
    note = ReviewNote(round=draft.round, score=min(scores, default=None), findings=findings)
    return note, weak


async def revise(app: ContentApp, msg: Revision) -> tuple[Draft | None, list[str]]:
    """The draft with the weak sections revised (round + 1), or None when none could
    be, and what could not be."""
    draft, model, deadline = msg.draft, app.model, app.options.call_deadline
    by_index = {s.index: s for s in draft.sections}
    targets = [(by_index[f.index], f.findings) for f in msg.revise if f.index in by_index]
    texts = await asyncio.gather(
        *(
            bounded(model.revise(s.title, with_heading(s), found), deadline, f"reviser ({s.title})")
            for s, found in targets
        )
    )
    failures: list[str] = []
    for (section, _), text in zip(targets, texts, strict=True):
        body = text if isinstance(text, Failure) else without_heading(text)
        if isinstance(body, Failure) or not body:
            reason = body.reason if isinstance(body, Failure) else "empty text"
            failures.append(f"{section.title}: not revised: {reason}")
            continue
        by_index[section.index] = section.model_copy(update={"text": body})
    if len(failures) == len(targets):
        return None, failures
    sections = [by_index[s.index] for s in draft.sections]
    return draft.model_copy(update={"sections": sections, "round": draft.round + 1}), failures


def with_heading(section: Section) -> str:
    """A section as a reader sees it, heading included (reviewers check it)."""
    return f"## {section.title}\n\n{section.text}"
