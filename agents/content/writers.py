"""The specialist writers (one agent per kind) and the fallback writer.

A specialist that fails or misses its deadline forwards the task, with the reason, to the
fallback writer instead of raising: retrying a stuck model would hold the whole piece,
and the fan-in must always receive every section. The fallback writer tries the model
once more as an editor, then writes from a template, so it always delivers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agents.content.app import ContentApp
from agents.content.calls import Failure, bounded
from agents.content.templates import section_text
from agents.content.text import without_heading
from schemas.content import KINDS, Kind, SectionDraft, SectionTask, WriterName
from streams import Context

Handler = Callable[[SectionTask, Context], Awaitable[None]]


def register(app: ContentApp) -> None:
    topics, timeout = app.mailboxes, app.options.handler_timeout
    mailboxes = [(topics.writers[kind], specialist(app, kind)) for kind in KINDS]
    mailboxes.append((topics.fallback, fallback(app)))
    for mailbox, write in mailboxes:
        app.agent(mailbox, name=write.__name__, reply_to=topics.published, timeout=timeout)(write)


def specialist(app: ContentApp, kind: Kind) -> Handler:
    async def write(msg: SectionTask, ctx: Context) -> None:
        job = msg.job
        call = app.model.write(kind, msg.title, job.topic, job.audience, msg.brief)
        what = f"{kind} writer"
        text = usable(await bounded(call, app.options.section_deadline, what), what)
        if isinstance(text, Failure):
            handoff = msg.model_copy(update={"reason": text.reason})
            await ctx.forward(app.mailboxes.fallback, handoff, key=ctx.key)
            return
        await ctx.forward(app.mailboxes.drafts, draft(msg, kind, text), key=job.request_id.encode())

    write.__name__ = f"writer_{kind}"
    return write


def fallback(app: ContentApp) -> Handler:
    async def write(msg: SectionTask, ctx: Context) -> None:
        job = msg.job
        reason = msg.reason or "sent to the fallback writer"
        call = app.model.write("editor", msg.title, job.topic, job.audience, msg.brief)
        what = "fallback writer"
        text = usable(await bounded(call, app.options.section_deadline, what), what)
        if isinstance(text, Failure):
            text = section_text(msg.title, job.topic, job.audience, msg.brief)
            reason += "; written from the offline template"
        out = draft(msg, "fallback", text, reason)
        await ctx.forward(app.mailboxes.drafts, out, key=job.request_id.encode())

    write.__name__ = "writer_fallback"
    return write


def usable(text: str | Failure, what: str) -> str | Failure:
    """The section's text without its heading, or a failure if nothing is left."""
    if isinstance(text, Failure):
        return text
    body = without_heading(text)
    return body if body else Failure(f"{what}: the model wrote an empty section")


def draft(
    msg: SectionTask, writer: WriterName, text: str, reason: str | None = None
) -> SectionDraft:
    return SectionDraft(
        job=msg.job,
        index=msg.index,
        count=msg.count,
        kind=msg.kind,
        title=msg.title,
        writer=writer,
        text=text,
        reason=reason,
    )
