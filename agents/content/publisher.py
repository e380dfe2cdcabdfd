"""The publisher: the reviewed piece becomes the ``Published`` reply, once per run (see
:mod:`agents.content.fanin`). It answers the original asker (the chain carried the
request's ``ce_replyto``), else ``content.published``."""

from __future__ import annotations

from agents.content import fanin
from agents.content.app import ContentApp
from agents.content.text import assemble, reading_minutes, word_count
from agents.shared.models.base import ModelClient
from schemas.content import Draft, Published, SectionInfo
from streams import Context


def register(app: ContentApp) -> None:
    topics, ttl = app.mailboxes, app.options.state_ttl

    @app.agent(topics.publish, reply_to=topics.published, timeout=app.options.handler_timeout)
    async def publisher(msg: Draft, ctx: Context) -> Published | None:
        key, event_id = f"content:published:{msg.job.run}", ctx.envelope.id
        prior = await fanin.emitted(ctx.state, key, event_id)
        if prior is not None:
            return Published.model_validate(prior.value) if prior.mine else None
        published = published_of(msg, app.model)
        await fanin.mark(ctx.state, key, event_id, published.model_dump(mode="json"), ttl)
        return published


def published_of(draft: Draft, model: ModelClient) -> Published:
    job = draft.job
    body = assemble(job.title, [(s.title, s.text) for s in draft.sections])
    return Published(
        request_id=job.request_id,
        topic=job.topic,
        audience=job.audience,
        title=job.title,
        body=body,
        word_count=word_count(body),
        reading_minutes=reading_minutes(body),
        rounds=draft.round,
        reviews=draft.reviews,
        sections=[SectionInfo(**s.model_dump(exclude={"text"})) for s in draft.sections],
        model=model.label,
        offline=model.offline,
    )
