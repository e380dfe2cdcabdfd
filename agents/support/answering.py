"""The agents that answer: knowledge base (faq, billing, sales, general), technical, and
complaints.

The knowledge-base and technical agents ask the answer gate (agents/support/gate.py)
whether an entry answers the inquiry; they answer from it only then, answer an inquiry
about something the company does not sell from the catalogue, and otherwise hand the
inquiry to a person with the gate's reason, queue and urgency. Complaints always go to
a person, one urgency level up (at least ``high``), with an apology.
"""

from __future__ import annotations

import hashlib

from agents.shared.retrieval import KBEntry
from agents.shared.text import clean
from agents.support import rules, signals, texts
from agents.support.app import SupportApp
from agents.support.catalogue import SOURCE
from agents.support.gate import CRITICAL_QUEUES, Verdict
from agents.support.memory import Memory, before
from agents.support.replying import escalate, respond
from schemas.support import URGENCIES, Reply, Routed, Urgency
from streams import Context


def raised(urgency: Urgency) -> Urgency:
    """One level up, at least ``high``."""
    up = URGENCIES[min(rules.rank(urgency) + 1, len(URGENCIES) - 1)]
    return rules.most_urgent(up, "high")


async def earlier_turns(app: SupportApp, msg: Routed, ctx: Context) -> list[str]:
    """The customer's turns before this one (masked text), oldest first."""
    support = app.settings.support
    memory = Memory(ctx.state, support.memory_turns, support.memory_ttl)
    return [turn.text for turn in before(await memory.recall(msg.customer_id), msg.inquiry_id)]


async def answer(app: SupportApp, question: str, lang: str, entries: list[KBEntry]) -> str:
    """The model's answer from ``entries``, cached by model version, question, language
    and entries."""
    ids = ",".join(e.id for e in entries)
    parts = (app.model_version, lang, question, ids)
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()

    async def compute() -> str:
        return await app.model.answer(question, lang, entries)

    return str(await app.kb_cache.get_or_compute(f"answer:{digest[:40]}", compute))


async def decide(app: SupportApp, msg: Routed, ctx: Context) -> Verdict:
    """The gate's verdict; the conversation is read only for a text that may be a
    follow-up."""
    earlier: list[str] = []
    if signals.is_follow_up(clean(msg.text).lower(), msg.lang):
        earlier = await earlier_turns(app, msg, ctx)
    return app.gate.decide(msg.text, msg.lang, msg.category, earlier)


def _answered(
    msg: Routed, text: str, sources: list[str], confidence: float, agent: str, model: str
) -> Reply:
    return Reply(
        inquiry_id=msg.inquiry_id,
        customer_id=msg.customer_id,
        status="answered",
        text=text,
        category=msg.category,
        urgency=msg.urgency,
        confidence=round(confidence, 4),
        sources=sources,
        agent=agent,
        model=model,
    )


async def handle(app: SupportApp, msg: Routed, ctx: Context, agent: str) -> Reply:
    """Answer ``msg`` from the knowledge base or the catalogue, or escalate it."""
    t = app.names
    verdict = await decide(app, msg, ctx)
    if verdict.outcome == "answer" and verdict.hit is not None:
        hit = verdict.hit
        text = await answer(app, msg.text, msg.lang, [hit.entry])
        reply = _answered(msg, text, [hit.entry.id], hit.score, agent, app.model.label)
    elif verdict.outcome == "not_sold":
        text = app.catalogue.not_sold_answer(verdict.not_sold, msg.lang)
        reply = _answered(msg, text, [SOURCE], 1.0, agent, "catalogue")
    else:
        return await escalate(
            ctx,
            t,
            msg,
            agent=agent,
            reason=verdict.reason,
            text=texts.escalated(msg.lang, texts.ticket_for(msg.inquiry_id)),
            urgency=verdict.urgency,
            queue=verdict.queue,
            action=verdict.action,
        )
    return await respond(ctx, t, reply, msg.text, msg.received_at)


def is_complaint(msg: Routed, found: signals.Signals, sure: float) -> bool:
    """Whether an inquiry routed to complaints is one: the router was sure, or its
    words complain. A question the classifier put here without either ("is the Xbox in
    stock?") is answered or escalated like any other."""
    evidence = rules.apply(msg.text).evidence.get("complaint", 0.0)
    return msg.confidence >= sure or evidence > 0 or found.grievance or found.critical is not None


def register(app: SupportApp) -> None:
    t = app.names

    @app.agent(t.kb, name="knowledge_base", reply_to=t.replies)
    async def knowledge_base(msg: Routed, ctx: Context) -> Reply:
        return await handle(app, msg, ctx, "knowledge_base")

    @app.agent(t.technical, name="technical", reply_to=t.replies)
    async def technical(msg: Routed, ctx: Context) -> Reply:
        return await handle(app, msg, ctx, "technical")

    @app.agent(t.complaints, name="complaints", reply_to=t.replies)
    async def complaints(msg: Routed, ctx: Context) -> Reply:
        found = signals.read(clean(msg.text).lower(), msg.lang)
        if not is_complaint(msg, found, app.settings.support.rules_confidence):
            return await handle(app, msg, ctx, "knowledge_base")
        urgency: Urgency = "critical" if found.critical else raised(msg.urgency)
        text = texts.apology(msg.lang, texts.ticket_for(msg.inquiry_id), urgency)
        queue = CRITICAL_QUEUES[found.critical] if found.critical else "complaints"
        return await escalate(
            ctx,
            t,
            msg,
            agent="complaints",
            reason="complaint",
            text=text,
            urgency=urgency,
            queue=queue,
            action=found.action,
        )
