"""Messages of the customer-service system (agents/support).

Flow, wired only through topics::

    support.inquiries  Inquiry     (keyed by customer id)  -> preprocess
    support.triage     Triage      (personal data masked)   -> router
    support.kb         Routed      faq, billing, sales, general -> knowledge-base agent
    support.technical  Routed      technical                -> troubleshooting agent
    support.complaints Routed      complaint                -> complaint agent
    (asker's ce_replyto, else support.replies)  Reply       -> the customer
    support.escalations Escalation                          -> humans (console)
    support.human_answers HumanAnswer                       -> handoff agent -> Reply
    support.outcomes   Outcome     one per reply            -> quality monitor
    support.quality    Quality     one per outcome

Every text field below ``Inquiry`` holds masked text only: personal data never travels
past the preprocess agent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from schemas.message import Message

Category = Literal["faq", "technical", "billing", "complaint", "sales", "general"]
Urgency = Literal["low", "normal", "high", "critical"]
Lang = Literal["en", "zh"]
Status = Literal["answered", "escalated", "human"]
# Who handles an escalation: the people behind each queue in the console.
Queue = Literal["general", "billing", "technical", "complaints", "sales", "security"]
QUEUES: tuple[Queue, ...] = ("general", "billing", "technical", "complaints", "sales", "security")
CATEGORIES: tuple[Category, ...] = ("faq", "technical", "billing", "complaint", "sales", "general")
URGENCIES: tuple[Urgency, ...] = ("low", "normal", "high", "critical")


#: A customer id: letters, digits and ``. _ : @ + -``, starting with a letter or digit, at
#: most 128 characters. No spaces, control, bidi-override or look-alike characters: the id
#: is shown to people (the console) and names keys (Kafka, Redis), so it must read as
#: what it is.
CUSTOMER_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@+\-]{0,127}$"


class Inquiry(Message):
    """What a customer wrote. Produce it keyed by ``customer_id``."""

    customer_id: str = Field(pattern=CUSTOMER_ID)
    text: str = Field(min_length=1, max_length=8000)
    channel: str = Field(default="web", min_length=1, max_length=32)
    lang: Lang | None = None


class Triage(Message):
    """An inquiry cleaned, with personal data masked, ready for routing."""

    inquiry_id: str
    customer_id: str
    text: str
    channel: str
    lang: Lang
    masked: dict[str, int] = Field(default_factory=dict)  # kind of personal data -> count
    received_at: datetime


class Routed(Message):
    """A triaged inquiry with its category, urgency and how they were decided."""

    inquiry_id: str
    customer_id: str
    text: str
    channel: str
    lang: Lang
    received_at: datetime
    category: Category
    urgency: Urgency
    confidence: float = Field(ge=0, le=1)
    route: Literal["rules", "model", "combined"]
    model: str  # which model client decided (or confirmed), e.g. "offline"


class Reply(Message):
    """What the customer gets back."""

    inquiry_id: str
    customer_id: str
    status: Status
    text: str
    category: Category
    urgency: Urgency
    confidence: float = Field(ge=0, le=1)
    sources: list[str] = Field(default_factory=list)  # knowledge-base entry ids
    ticket: str | None = None
    queue: Queue | None = None  # escalated: the people who have it
    action: str | None = None  # escalated: the account task asked for, when recognised
    agent: str  # the agent (or human) that answered
    model: str  # the model client involved, e.g. "offline"; "human" for a person


class Escalation(Message):
    """An inquiry for a person to answer. ``reply_topic`` and ``correlation_id`` say where
    the person's answer must go so that it reaches the customer like any other reply."""

    ticket: str
    inquiry_id: str
    customer_id: str
    text: str
    lang: Lang
    category: Category
    urgency: Urgency
    confidence: float = Field(ge=0, le=1)
    queue: Queue = "general"
    action: str | None = None  # the account task asked for, when recognised
    reason: str
    received_at: datetime
    reply_topic: str
    correlation_id: str | None = None


class HumanAnswer(Message):
    """A person's answer to an escalation. Send it with ``ce_replyto`` set to the
    escalation's ``reply_topic`` and its ``correlation_id``."""

    ticket: str
    inquiry_id: str
    customer_id: str
    text: str = Field(min_length=1, max_length=8000)
    agent_name: str = Field(min_length=1, max_length=128)
    category: Category = "general"
    urgency: Urgency = "normal"
    received_at: datetime


class Outcome(Message):
    """One per reply sent to a customer, for the quality monitor and the KPIs."""

    inquiry_id: str
    customer_id: str
    status: Status
    category: Category
    urgency: Urgency
    confidence: float = Field(ge=0, le=1)
    inquiry_text: str
    reply_text: str
    agent: str
    received_at: datetime
    replied_at: datetime


class Quality(Message):
    """The quality monitor's record of one reply."""

    inquiry_id: str
    customer_id: str
    status: Status
    category: Category
    inquiry_sentiment: float = Field(ge=-1, le=1)
    reply_sentiment: float = Field(ge=-1, le=1)
    latency_seconds: float = Field(ge=0)
    score: float = Field(ge=0, le=1)
    flagged: bool
    reasons: list[str] = Field(default_factory=list)
