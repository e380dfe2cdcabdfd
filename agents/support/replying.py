"""What every replying agent does alike: one ``Outcome`` per reply, and escalations that
tell people where their answer must go.

A person answers hours later, long after the asker's private reply topic (a client's
``ask``) may be gone with its process: escalations therefore name the system's stable
replies topic, which the gateway group reads (agents/console/feeds.py), never the
asker's ``ce_replyto``."""

from __future__ import annotations

from datetime import UTC, datetime

from agents.support import texts
from agents.support.app import Topics
from schemas.support import Escalation, Outcome, Queue, Reply, Routed, Urgency
from streams import Context


async def respond(
    ctx: Context, topics: Topics, reply: Reply, inquiry_text: str, received_at: datetime
) -> Reply:
    """Send the outcome of ``reply`` to the quality monitor and return ``reply`` (the
    runtime sends it to the asker's ``ce_replyto``, else to the replies topic)."""
    outcome = Outcome(
        inquiry_id=reply.inquiry_id,
        customer_id=reply.customer_id,
        status=reply.status,
        category=reply.category,
        urgency=reply.urgency,
        confidence=reply.confidence,
        inquiry_text=inquiry_text,
        reply_text=reply.text,
        agent=reply.agent,
        received_at=received_at,
        replied_at=datetime.now(UTC),
    )
    await ctx.send(topics.outcomes, outcome, key=reply.customer_id.encode())
    return reply


async def escalate(
    ctx: Context,
    topics: Topics,
    msg: Routed,
    *,
    agent: str,
    reason: str,
    text: str,
    queue: Queue,
    urgency: Urgency | None = None,
    action: str | None = None,
) -> Reply:
    """Hand ``msg`` to the people of ``queue`` (an ``Escalation`` saying why and where
    their answer must go) and tell the customer so."""
    ticket = texts.ticket_for(msg.inquiry_id)
    urgency = urgency or msg.urgency
    escalation = Escalation(
        ticket=ticket,
        inquiry_id=msg.inquiry_id,
        customer_id=msg.customer_id,
        text=msg.text,
        lang=msg.lang,
        category=msg.category,
        urgency=urgency,
        confidence=msg.confidence,
        queue=queue,
        action=action,
        reason=reason,
        received_at=msg.received_at,
        reply_topic=topics.replies,
        correlation_id=ctx.envelope.correlationid,
    )
    await ctx.send(topics.escalations, escalation, key=msg.customer_id.encode())
    reply = Reply(
        inquiry_id=msg.inquiry_id,
        customer_id=msg.customer_id,
        status="escalated",
        text=text,
        category=msg.category,
        urgency=urgency,
        confidence=msg.confidence,
        ticket=ticket,
        queue=queue,
        action=action,
        agent=agent,
        model=msg.model,
    )
    return await respond(ctx, topics, reply, msg.text, msg.received_at)
