"""The agents that answer: knowledge base (faq, billing, sales, general), technical
troubleshooting, and complaints.

The knowledge-base and technical agents answer only when the knowledge base's
calibrated score reaches ``settings.support.answer_confidence``; below it they escalate
to a person and tell the customer the ticket. Complaints always go to a person, one
urgency level up (at least ``high``), with an apology.
"""

from __future__ import annotations

import hashlib

from agents.shared.retrieval import Hit, KBEntry
from agents.shared.text import tokenize
from agents.support import rules, texts
from agents.support.app import SupportApp
from agents.support.memory import Memory, before
from agents.support.replying import escalate, respond
from schemas.support import URGENCIES, Reply, Routed, Urgency
from streams import Context


def raised(urgency: Urgency) -> Urgency:
    """One level up, at least ``high``."""
    up = URGENCIES[min(rules.rank(urgency) + 1, len(URGENCIES) - 1)]
    return rules.most_urgent(up, "high")


async def query_for(app: SupportApp, msg: Routed, ctx: Context) -> str:
    """The text to search with: a follow-up ("still broken", "还是不行") is searched
    together with the customer's previous turn."""
    if not rules.is_follow_up(msg.text, len(tokenize(msg.text, msg.lang))):
        return msg.text
    support = app.settings.support
    memory = Memory(ctx.state, support.memory_turns, support.memory_ttl)
    earlier = before(await memory.recall(msg.customer_id), msg.inquiry_id)
    return f"{earlier[-1].text} {msg.text}" if earlier else msg.text


async def answer(app: SupportApp, question: str, lang: str, entries: list[KBEntry]) -> str:
    """The model's answer from ``entries``, cached by model version, question, language
    and entries."""
    ids = ",".join(e.id for e in entries)
    parts = (app.model_version, lang, question, ids)
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    async def compute() -> str:
        return await app.model.answer(question, lang, entries)

    return str(await app.kb_cache.get_or_compute(f"answer:{digest[:40]}", compute))


def _answered(msg: Routed, hit: Hit, text: str, agent: str, model: str) -> Reply:
    return Reply(
        inquiry_id=msg.inquiry_id,
        customer_id=msg.customer_id,
        status="answered",
        text=text,
        category=msg.category,
        urgency=msg.urgency,
        confidence=round(hit.score, 4),
        sources=[hit.entry.id],
        agent=agent,
        model=model,
    )


def _too_low(hits: list[Hit], threshold: float) -> str:
    best = f"{hits[0].score:.2f} ({hits[0].entry.id})" if hits else "none"
    return f"knowledge base best score {best} below {threshold:.2f}"


def register(app: SupportApp) -> None:
    t = app.names

    @app.agent(t.kb, name="knowledge_base", reply_to=t.replies)
    async def knowledge_base(msg: Routed, ctx: Context) -> Reply:
        threshold = app.settings.support.answer_confidence
        hits = app.kb.search(await query_for(app, msg, ctx), lang=msg.lang, k=3)
        if not hits or hits[0].score < threshold:
            reason = _too_low(hits, threshold)
            text = texts.escalated(msg.lang, texts.ticket_for(msg.inquiry_id))
            return await escalate(ctx, t, msg, agent="knowledge_base", reason=reason, text=text)
        text = await answer(app, msg.text, msg.lang, [hits[0].entry])
        reply = _answered(msg, hits[0], text, "knowledge_base", app.model.label)
        return await respond(ctx, t, reply, msg.text, msg.received_at)

    @app.agent(t.technical, name="technical", reply_to=t.replies)
    async def technical(msg: Routed, ctx: Context) -> Reply:
        threshold = app.settings.support.answer_confidence
        query = await query_for(app, msg, ctx)
        hits = [h for h in app.kb.search(query, lang=msg.lang, k=5) if h.entry.steps]
        if not hits or hits[0].score < threshold:
            reason = _too_low(hits, threshold)
            text = texts.escalated(msg.lang, texts.ticket_for(msg.inquiry_id))
            return await escalate(ctx, t, msg, agent="technical", reason=reason, text=text)
        entry = hits[0].entry
        intro = await answer(app, msg.text, msg.lang, [entry])
        text = texts.troubleshooting(msg.lang, intro, entry.steps)
        reply = _answered(msg, hits[0], text, "technical", app.model.label)
        return await respond(ctx, t, reply, msg.text, msg.received_at)

    @app.agent(t.complaints, name="complaints", reply_to=t.replies)
    async def complaints(msg: Routed, ctx: Context) -> Reply:
        urgency = raised(msg.urgency)
        text = texts.apology(msg.lang, texts.ticket_for(msg.inquiry_id), urgency)
        return await escalate(
            ctx, t, msg, agent="complaints", reason="complaint", text=text, urgency=urgency
        )
