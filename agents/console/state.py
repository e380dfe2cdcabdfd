"""What the gateway holds while it runs: the Kafka client, Redis, the background feeds
and the KPIs, started and stopped with the web application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from agents.console.feeds import follow_group, follow_quality, supervise
from agents.console.identity import Identities
from agents.console.ratelimit import Limiter
from agents.console.security import Signer, console_token
from agents.console.sessions import SessionRecords, Sessions
from agents.console.store import ConsoleStore
from config import Settings
from schemas import Envelope
from schemas.support import Escalation, HumanAnswer
from schemas.support import Reply as SupportReply
from streams import Client, Reply
from streams.redis_connect import redis_client

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Topics:
    """The support system's topics under a prefix (the support app's ``prefix``)."""

    inquiries: str
    escalations: str
    human_answers: str
    quality: str
    replies: str

    @classmethod
    def of(cls, prefix: str) -> Topics:
        return cls(
            f"{prefix}support.inquiries",
            f"{prefix}support.escalations",
            f"{prefix}support.human_answers",
            f"{prefix}support.quality",
            f"{prefix}support.replies",
        )


def reply_item(reply: Reply, parsed: SupportReply) -> dict[str, Any]:
    """A reply as the chat page shows it: its event id and time, then its fields."""
    return {"id": reply.envelope.id, "at": reply.envelope.time, **parsed.model_dump(mode="json")}


class Gateway:
    """The running gateway's shared parts; one per web application."""

    def __init__(self, settings: Settings, prefix: str = "") -> None:
        g = settings.gateway
        self.settings = settings
        self.prefix = prefix
        self.topics = Topics.of(prefix)
        self.token = console_token(g.console_token)
        secret = g.session_secret.get_secret_value().encode() if g.session_secret else None
        signer = Signer(secret or secrets.token_bytes(32))
        self.identities = Identities(g, signer)
        # Connects when first used; closed when the application stops.
        self.redis = redis_client(settings.redis)
        records = SessionRecords(self.redis, prefix)
        self.sessions = Sessions(signer, records, g.session_ttl, self.token)
        self.limiter = Limiter(self.redis, f"console:{prefix}:rate:")
        # Imported here: the support package pulls in the models and the knowledge base,
        # which the gateway's other parts (and their unit tests) do without.
        from agents.support.kpis import Kpis

        self.kpis = Kpis()
        self._client: Client | None = None
        self._store: ConsoleStore | None = None

    @property
    def running(self) -> bool:
        """Started (its Kafka client is up) and not stopping."""
        return self._client is not None and self._store is not None

    @property
    def client(self) -> Client:
        if self._client is None:
            raise RuntimeError("the gateway is not running")
        return self._client

    @property
    def store(self) -> ConsoleStore:
        if self._store is None:
            raise RuntimeError("the gateway is not running")
        return self._store

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp cleanup context: connect at startup, close at shutdown."""
        s = self.settings
        g = s.gateway
        self._store = ConsoleStore(
            self.redis, self.prefix, keep=g.messages_keep, ttl=g.messages_ttl
        )
        self._client = Client(s, source="agentstream.console", on_unmatched=self.late_reply)
        await self._client.start()
        t, kafka, group = self.topics, s.kafka, f"{self.prefix}console"
        store = self._store

        async def escalations() -> None:
            # Escalations kept before the console's page index existed: indexed first
            # (here, not at start, so that a Redis outage delays it instead of the start).
            await store.reindex()
            await follow_group(
                kafka, t.escalations, f"{group}.escalations", Escalation, self.escalated
            )

        feeds = [
            supervise("escalations feed", escalations),
            supervise(
                "replies feed",
                lambda: follow_group(
                    kafka, t.replies, f"{group}.replies", SupportReply, self.replied
                ),
            ),
            supervise(
                "quality feed", lambda: follow_quality(s.kafka, self.topics.quality, self.kpis.add)
            ),
        ]
        tasks = [asyncio.create_task(f) for f in feeds]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await self._client.stop()
            await self.redis.aclose()
            self._client = self._store = None

    async def late_reply(self, reply: Reply) -> None:
        """A reply no request waits for any more (it came after the request's timeout):
        keep it for the customer's chat page."""
        if reply.envelope.type != SupportReply.message_type:
            log.warning("ignored a late %s reply at offset %d", reply.envelope.type, reply.offset)
            return
        try:
            parsed = SupportReply.model_validate_json(reply.value)
        except ValidationError as e:
            log.warning("ignored a late reply at offset %d: %s", reply.offset, e)
            return
        await self.store.add_reply(parsed.customer_id, reply_item(reply, parsed))

    async def escalated(self, escalation: Escalation, record: Any) -> None:
        await self.store.open_escalation(escalation)

    async def replied(self, reply: SupportReply, record: Any) -> None:
        """A reply on the support system's replies topic: the answers people gave to
        escalations (sent there, not to the asking replica, which may be gone) and the
        replies to inquiries that named no reply topic. Kept for the customer's chat."""
        envelope = Envelope.from_headers(record.headers or ())
        item = {"id": envelope.id, "at": envelope.time, **reply.model_dump(mode="json")}
        await self.store.add_reply(reply.customer_id, item)
        if reply.status == "human" and reply.ticket:
            await self.store.close_escalation(reply.ticket)

    async def answer(self, ticket: str, text: str, agent_name: str) -> HumanAnswer | None:
        """Send a person's answer to ``ticket`` where its escalation says, once: the
        ticket is claimed in Redis first (:class:`~agents.console.store.Taken` when
        another answer has it), released if the send fails, closed after. None when the
        ticket is not open. Closing is best effort: the answer went out, and the reply it
        causes closes the ticket again on whichever replica reads it."""
        claimant = secrets.token_hex(8)
        escalation = await self.store.claim(ticket, claimant)
        if escalation is None:
            return None
        msg = HumanAnswer(
            ticket=escalation.ticket,
            inquiry_id=escalation.inquiry_id,
            customer_id=escalation.customer_id,
            text=text,
            agent_name=agent_name,
            category=escalation.category,
            urgency=escalation.urgency,
            received_at=datetime.now(UTC),
        )
        try:
            await self.client.send(
                self.topics.human_answers,
                msg,
                key=escalation.customer_id.encode(),
                replyto=escalation.reply_topic,
                correlationid=escalation.correlation_id,
            )
        except BaseException:
            await asyncio.shield(self.store.release(ticket, claimant))
            raise
        try:
            await self.store.close_escalation(ticket)
        except Exception as e:  # noqa: BLE001 - the answer is out: say so, let the reply close it
            log.warning("ticket %s answered, but not closed yet: %r", ticket, e)
        return msg


GATEWAY = web.AppKey("gateway", Gateway)
