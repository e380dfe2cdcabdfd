"""The first two agents: preprocess (clean, language, mask personal data) and router
(category and urgency, conversation memory, the queue that handles it).

Both forward, so the agent that finally replies answers the original asker. Neither logs
inquiry text: past ``preprocess`` only masked text exists, and nothing here writes even
that to a log. An inquiry that cannot be handled becomes a dead letter with its text
masked too (``masked_value``), and a replay of it is handled like any inquiry.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from agents.shared.pii import mask
from agents.shared.text import clean, detect_lang
from agents.support.app import SupportApp, Topics
from agents.support.memory import Memory, Turn, before
from agents.support.routing import Decision
from schemas import Envelope
from schemas.support import Category, Inquiry, Routed, Triage
from streams import AgentStreamError, Context


class IdentityMismatch(AgentStreamError):
    """An inquiry whose ``customer_id`` is not the customer its envelope says the gateway
    authenticated (``ce_authid``): dead-lettered, never handled as either customer."""


def triage_of(msg: Inquiry, envelope: Envelope) -> Triage:
    """``msg`` cleaned and masked. Its id is the event id, so that a redelivered inquiry
    is the same inquiry (same ticket, one turn in memory); its arrival time is the
    event's time."""
    text = clean(msg.text)
    masked = mask(text)
    return Triage(
        inquiry_id=envelope.id,
        customer_id=msg.customer_id,
        text=masked.text,
        channel=msg.channel,
        lang=msg.lang or detect_lang(text),
        masked=dict(masked.kinds),
        received_at=event_time(envelope),
    )


def masked_value(value: bytes) -> bytes:
    """An inquiry's bytes with personal data masked, for its dead letters: every string
    of the JSON masked (a replay sends that), or, when the bytes are not JSON, the text
    they hold, masked."""
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError:
        return mask(clean(value.decode("utf-8", errors="replace"))).text.encode()
    return orjson.dumps(_masked(data))


def _masked(data: Any) -> Any:
    if isinstance(data, str):
        return mask(data).text
    if isinstance(data, dict):
        return {_masked(k): _masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(v) for v in data]
    return data


def event_time(envelope: Envelope) -> datetime:
    if envelope.time:
        try:
            return datetime.fromisoformat(envelope.time)
        except ValueError:
            pass
    return datetime.now(UTC)


def queue_of(topics: Topics, category: Category) -> str:
    if category == "technical":
        return topics.technical
    if category == "complaint":
        return topics.complaints
    return topics.kb


def routed_of(msg: Triage, decision: Decision) -> Routed:
    return Routed(
        inquiry_id=msg.inquiry_id,
        customer_id=msg.customer_id,
        text=msg.text,
        channel=msg.channel,
        lang=msg.lang,
        received_at=msg.received_at,
        category=decision.category,
        urgency=decision.urgency,
        confidence=decision.confidence,
        route=decision.route,
        model=decision.model,
    )


def register(app: SupportApp) -> None:
    t = app.names

    @app.agent(t.inquiries, name="preprocess", reply_to=t.replies, redact=masked_value)
    async def preprocess(msg: Inquiry, ctx: Context) -> None:
        authid = ctx.envelope.authid
        if authid is not None and authid != msg.customer_id:
            raise IdentityMismatch(
                f"customer_id {msg.customer_id!r} is not the authenticated customer {authid!r}"
            )
        await ctx.forward(t.triage, triage_of(msg, ctx.envelope), key=msg.customer_id.encode())

    @app.agent(t.classify, name="classifier")
    async def classifier(msg: Inquiry, ctx: Context) -> Routed:
        """What the router would decide for an inquiry on its own (no conversation
        memory, nothing forwarded): ``agentstream support classify`` measures the router
        with it."""
        triage = triage_of(msg, ctx.envelope)
        decision = await app.router.decide(triage.text, triage.lang, [])
        return routed_of(triage, decision)

    @app.agent(t.triage, name="router", reply_to=t.replies)
    async def router(msg: Triage, ctx: Context) -> None:
        support = app.settings.support
        memory = Memory(ctx.state, support.memory_turns, support.memory_ttl)
        history = before(await memory.recall(msg.customer_id), msg.inquiry_id)
        decision = await app.router.decide(msg.text, msg.lang, history)
        turn = Turn(
            inquiry_id=msg.inquiry_id,
            text=msg.text,
            lang=msg.lang,
            category=decision.category,
            urgency=decision.urgency,
            at=msg.received_at.isoformat(),
        )
        await memory.remember(msg.customer_id, turn)
        routed = routed_of(msg, decision)
        await ctx.forward(queue_of(t, decision.category), routed, key=msg.customer_id.encode())
