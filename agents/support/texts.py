"""What the agents write to customers themselves (English and Chinese), and ticket ids.

Ticket ids derive from the inquiry id, so an inquiry handled twice (delivery is at least
once) keeps one ticket and a person sees its duplicates as one case.
"""

from __future__ import annotations

import hashlib

from schemas.support import Lang


def ticket_for(inquiry_id: str) -> str:
    return "T-" + hashlib.sha256(inquiry_id.encode()).hexdigest()[:10].upper()


def escalated(lang: Lang, ticket: str) -> str:
    """The reply when the knowledge base has no answer good enough."""
    if lang == "zh":
        return f"您的问题已转交给人工客服，工单号 {ticket}。我们会尽快回复您。"
    return (
        f"Thanks for your question. A member of our support team will answer you shortly "
        f"(ticket {ticket})."
    )


def apology(lang: Lang, ticket: str, urgency: str) -> str:
    """The complaint agent's reply: an apology, the ticket, what happens next."""
    soon = urgency == "critical"
    if lang == "zh":
        when = "我们会立即处理" if soon else "专人会尽快与您联系"
        return f"非常抱歉给您带来不好的体验。您的投诉已登记，工单号 {ticket}，{when}。"
    when = "we are on it right away" if soon else "a senior team member will contact you soon"
    return (
        f"We are sorry for the trouble you have had, and we take your complaint seriously. "
        f"It is logged as ticket {ticket}; {when}."
    )
