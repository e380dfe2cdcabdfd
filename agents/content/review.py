"""The reviewer and the reviser: a draft scoring below the threshold goes back for
revision while the request's rounds last; otherwise it goes to the publisher.

A review or revision the model cannot give does not fail the request: the draft is
published as it stands, and its last review note says why."""

from __future__ import annotations

from agents.content.app import ContentApp
from agents.content.calls import Failure, bounded
from schemas.content import Draft, ReviewNote, Revision
from streams import Context


def register(app: ContentApp) -> None:
    topics, options = app.mailboxes, app.options

    @app.agent(topics.review, reply_to=topics.published, timeout=options.handler_timeout)
    async def reviewer(msg: Draft, ctx: Context) -> None:
        key = msg.job.request_id.encode()
        call = app.model.review(msg.job.title, msg.body, msg.round)
        result = await bounded(call, options.call_deadline, "reviewer")
        if isinstance(result, Failure):
            note = ReviewNote(round=msg.round, findings=[f"not reviewed: {result.reason}"])
            await ctx.forward(topics.publish, noted(msg, note), key=key)
            return
        score = min(1.0, max(0.0, result.score))
        note = ReviewNote(round=msg.round, score=score, findings=list(result.findings))
        reviewed = noted(msg, note)
        if score < options.review_threshold and msg.round < msg.job.max_review_rounds:
            revision = Revision(draft=reviewed, findings=note.findings)
            await ctx.forward(topics.revise, revision, key=key)
        else:
            await ctx.forward(topics.publish, reviewed, key=key)

    @app.agent(topics.revise, reply_to=topics.published, timeout=options.handler_timeout)
    async def reviser(msg: Revision, ctx: Context) -> None:
        draft = msg.draft
        key = draft.job.request_id.encode()
        call = app.model.revise(draft.job.title, draft.body, msg.findings)
        body = await bounded(call, options.call_deadline, "reviser")
        if isinstance(body, Failure) or not body.strip():
            reason = body.reason if isinstance(body, Failure) else "reviser: empty text"
            last = draft.reviews[-1]
            note = last.model_copy(update={"findings": [*last.findings, f"not revised: {reason}"]})
            unrevised = draft.model_copy(update={"reviews": [*draft.reviews[:-1], note]})
            await ctx.forward(topics.publish, unrevised, key=key)
            return
        revised = draft.model_copy(update={"body": body, "round": draft.round + 1})
        await ctx.forward(topics.review, revised, key=key)


def noted(draft: Draft, note: ReviewNote) -> Draft:
    return draft.model_copy(update={"reviews": [*draft.reviews, note]})
