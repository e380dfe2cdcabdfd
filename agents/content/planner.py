"""The planner: one request in, one task per section out, each to its specialist's
mailbox, so sections are written in parallel."""

from __future__ import annotations

from agents.content.app import ContentApp
from agents.content.calls import Failure, bounded
from agents.content.templates import fallback_plan
from agents.content.text import title_of
from agents.shared.models.base import SectionPlan
from schemas.content import KINDS, MAX_SECTIONS, ContentRequest, Job, SectionTask
from streams import Context


def register(app: ContentApp) -> None:
    topics, options = app.mailboxes, app.options

    @app.agent(topics.requests, reply_to=topics.published, timeout=options.handler_timeout)
    async def planner(msg: ContentRequest, ctx: Context) -> None:
        plans = await plan(app, msg)
        run = ctx.envelope.id
        request_id = msg.request_id or run
        job = Job(
            request_id=request_id,
            run=run,
            topic=msg.topic,
            audience=msg.audience,
            title=title_of(msg.topic),
            max_review_rounds=msg.max_review_rounds,
        )
        for index, section in enumerate(plans):
            task = SectionTask(
                job=job,
                index=index,
                count=len(plans),
                kind=section.kind,
                title=section.title,
                brief=section.brief,
            )
            key = f"{request_id}:{index}".encode()
            await ctx.forward(topics.writers[section.kind], task, key=key)


async def plan(app: ContentApp, msg: ContentRequest) -> list[SectionPlan]:
    """The model's plan; the standard one when the model fails, plans nothing, or does
    not plan the sections the request named."""
    call = app.model.plan(msg.topic, msg.audience, msg.sections)
    plans = await bounded(call, app.options.call_deadline, "planner")
    if (
        isinstance(plans, Failure)
        or not plans
        or (msg.sections is not None and len(plans) != len(msg.sections))
    ):
        return fallback_plan(msg.topic, msg.audience, msg.sections)
    return [
        p if p.kind in KINDS else SectionPlan(p.title, "editor", p.brief)
        for p in plans[:MAX_SECTIONS]
    ]
