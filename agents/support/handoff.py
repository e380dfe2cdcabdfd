"""The handoff agent (a person's answer to the customer) and the quality monitor."""

from __future__ import annotations

from agents.shared.pii import mask
from agents.shared.sentiment import sentiments
from agents.shared.text import clean
from agents.support.app import SupportApp
from agents.support.memory import Memory
from agents.support.quality import assess
from agents.support.replying import respond
from schemas.support import HumanAnswer, Outcome, Quality, Reply
from streams import Context


def register(app: SupportApp) -> None:
    t = app.names

    @app.agent(t.human_answers, name="handoff", reply_to=t.replies)
    async def handoff(msg: HumanAnswer, ctx: Context) -> Reply:
        """The reply goes to the event's ``ce_replyto``: the gateway sets it to the
        escalation's ``reply_topic`` and correlation id, so the original asker gets it."""
        reply = Reply(
            inquiry_id=msg.inquiry_id,
            customer_id=msg.customer_id,
            status="human",
            text=mask(clean(msg.text)).text,
            category=msg.category,
            urgency=msg.urgency,
            confidence=1.0,
            ticket=msg.ticket,
            agent=msg.agent_name,
            model="human",
        )
        support = app.settings.support
        memory = Memory(ctx.state, support.memory_turns, support.memory_ttl)
        turns = await memory.recall(msg.customer_id)
        asked = next((turn.text for turn in turns if turn.inquiry_id == msg.inquiry_id), "")
        return await respond(ctx, t, reply, asked, msg.received_at)

    @app.agent(t.outcomes, name="quality_monitor", reply_to=t.quality)
    async def quality_monitor(msg: Outcome, ctx: Context) -> Quality:
        """Quality records go to the quality topic (outcomes carry no ``ce_replyto``)."""
        if msg.inquiry_text:
            asked, replied = await sentiments([msg.inquiry_text, msg.reply_text])
        else:
            asked, (replied,) = 0.0, await sentiments([msg.reply_text])
        quality = assess(msg, asked, replied)
        if not app.kpis.has(quality):  # a redelivered outcome is not counted twice
            app.kpis.add(quality)
            app.support_metrics.record(quality)
        return quality
