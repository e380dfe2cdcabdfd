"""The integrator: gathers a run's sections as they arrive and, once all are there,
sends the assembled piece to review, once per run (see :mod:`agents.content.fanin`)."""

from __future__ import annotations

from agents.content import fanin
from agents.content.app import ContentApp
from agents.content.text import word_count
from schemas.content import Draft, Section, SectionDraft
from streams import Context


def register(app: ContentApp) -> None:
    topics, ttl = app.mailboxes, app.options.state_ttl

    @app.agent(topics.drafts, reply_to=topics.published, timeout=app.options.handler_timeout)
    async def integrator(msg: SectionDraft, ctx: Context) -> None:
        job, event_id = msg.job, ctx.envelope.id
        key = f"content:assembled:{job.run}"
        prior = await fanin.emitted(ctx.state, key, event_id)
        if prior is not None:
            if prior.mine:
                again = Draft.model_validate(prior.value)
                await ctx.forward(topics.review, again, key=job.request_id.encode())
            return
        sections = await fanin.gather(ctx.state, msg, ttl)
        if sections is None:
            return
        piece = draft_of(sections)
        await fanin.mark(ctx.state, key, event_id, piece.model_dump(mode="json"), ttl)
        await ctx.state.delete(fanin.sections_key(job.run))
        await ctx.forward(topics.review, piece, key=job.request_id.encode())


def draft_of(sections: list[SectionDraft]) -> Draft:
    """The first draft of a piece from its sections, in index order."""
    return Draft(
        job=sections[0].job,
        sections=[
            Section(
                index=s.index,
                title=s.title,
                kind=s.kind,
                writer=s.writer,
                words=word_count(s.text),
                reason=s.reason,
                text=s.text,
            )
            for s in sections
        ],
    )
