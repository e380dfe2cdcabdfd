"""A producer-side client that needs no faust app: ``send``, ``ask`` and ``results``.

::

    async with Client() as client:
        await client.send("support.inquiries", Inquiry(text="..."), key=b"customer-7")
        reply = await client.ask("support.inquiries", Inquiry(text="..."), timeout=5)
        answer = reply.parse(Routed)
        async for reply in client.results("support.inquiries.replies"):
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from config import KafkaSettings, Settings
from schemas import Envelope, EnvelopeError, Failed, Message
from streams.codec import validate
from streams.connection import client_kwargs, ensure_topics, partitions_of
from streams.errors import RequestFailed, RequestTimeout
from streams.publisher import Publisher
from streams.tracing import current_traceparent

M = TypeVar("M", bound=Message)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Reply:
    """A record read from a result topic."""

    envelope: Envelope
    key: bytes | None
    value: bytes
    topic: str
    partition: int
    offset: int

    def parse(self, model: type[M]) -> M:
        return validate(model, orjson.loads(self.value))


class Client:
    """Sends events to mailboxes and reads what agents answer.

    ``on_unmatched`` receives the replies that reach the private reply topic and match no
    waiting ``ask``: answers that came after their ask timed out, or later answers to the
    same request (a person answering an escalated inquiry). Without it they are dropped.
    It is awaited in the listener, so a slow callback delays the replies behind it; an
    exception it raises is logged and the listener goes on."""

    def __init__(
        self,
        settings: Settings | None = None,
        source: str = "agentstream.client",
        *,
        on_unmatched: Callable[[Reply], Awaitable[None]] | None = None,
    ):
        self.settings = settings or Settings()
        self.source = source
        self.on_unmatched = on_unmatched
        self._publisher = Publisher(self.settings.kafka)
        self._reply_topic: str | None = None
        self._pending: dict[str, asyncio.Future[Reply]] = {}
        self._listener: asyncio.Task[None] | None = None
        self._listen_lock = asyncio.Lock()
        self._started = False

    async def __aenter__(self) -> Client:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        await self._publisher.start()
        self._started = True

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
            await self._delete_reply_topic()
        if self._started:
            await self._publisher.stop()
            self._started = False

    async def send(
        self,
        mailbox: str,
        msg: Message,
        *,
        key: bytes | None = None,
        replyto: str | None = None,
        correlationid: str | None = None,
        authid: str | None = None,
    ) -> Envelope:
        """Publish ``msg`` and wait until the broker acknowledged it. Sent within a
        recording OpenTelemetry span, the event carries its ``traceparent``, and the
        agents' spans join that trace. ``authid``: the customer the sender authenticated
        (the envelope's auth context); only a trusted sender sets it."""
        envelope = Envelope.new(
            msg.message_type,
            self.source,
            replyto=replyto,
            correlationid=correlationid,
            authid=authid,
        )
        envelope.traceparent = current_traceparent()
        await (await self._publisher.send(mailbox, msg, envelope, key))
        return envelope

    async def ask(
        self,
        mailbox: str,
        msg: Message,
        *,
        key: bytes | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-request deadline is the API here
        authid: str | None = None,
    ) -> Reply:
        """Send ``msg`` with a private reply topic and wait for the matching reply. Raises
        :class:`RequestTimeout` when none comes within ``timeout``, and
        :class:`RequestFailed` when the request became a dead letter."""
        reply_topic = await self._listen()
        correlationid = uuid.uuid4().hex
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[correlationid] = future
        try:
            await self.send(
                mailbox,
                msg,
                key=key,
                replyto=reply_topic,
                correlationid=correlationid,
                authid=authid,
            )
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError as e:
            raise RequestTimeout(
                f"no reply from {mailbox} within {timeout}s (correlation id {correlationid}); "
                f"if the request failed it is in {mailbox}.dlq"
            ) from e
        finally:
            self._pending.pop(correlationid, None)
        return answered(mailbox, reply)

    async def results(
        self,
        topic: str,
        *,
        group: str | None = None,
        from_beginning: bool = True,
        since: float | None = None,
    ) -> AsyncIterator[Reply]:
        """Iterate over a result topic; with ``group`` the position is committed by the
        consumer's auto-commit (every 5 s, what was handed out: at-most-once for a record
        being processed when the process dies).
        ``since`` (a Unix time, no group) starts at the first record stamped at or after
        it, so results of events sent after that moment are never missed, however late
        the iteration starts."""
        consumer = AIOKafkaConsumer(
            *(() if since is not None else (topic,)),
            group_id=group,
            enable_auto_commit=group is not None,
            auto_offset_reset="earliest" if from_beginning else "latest",
            isolation_level=self.settings.kafka.isolation_level,
            **client_kwargs(self.settings.kafka),
        )
        await consumer.start()
        try:
            if since is not None:
                await _seek_to_time(consumer, self.settings.kafka, topic, since)
            async for record in consumer:
                reply = reply_of(record)
                if reply is not None:
                    yield reply
        finally:
            await consumer.stop()

    # -- private reply topic ------------------------------------------------------------
    async def _listen(self) -> str:
        """The private reply topic, created and listened to once, however many first
        ``ask`` calls run at the same time."""
        async with self._listen_lock:
            if self._reply_topic is not None:
                return self._reply_topic
            topic = f"agentstream.replies.{uuid.uuid4().hex}"
            await ensure_topics(self.settings.kafka, [topic])
            consumer = AIOKafkaConsumer(
                topic,
                auto_offset_reset="earliest",
                isolation_level=self.settings.kafka.isolation_level,
                **client_kwargs(self.settings.kafka),
            )
            await consumer.start()
            self._reply_topic = topic
            self._listener = asyncio.create_task(self._dispatch(consumer))
            return topic

    async def _dispatch(self, consumer: AIOKafkaConsumer) -> None:
        try:
            async for record in consumer:
                reply = reply_of(record)
                if reply is None or reply.envelope.correlationid is None:
                    continue
                future = self._pending.get(reply.envelope.correlationid)
                if future is not None and not future.done():
                    future.set_result(reply)
                elif self.on_unmatched is not None:
                    await self._unmatched(self.on_unmatched, reply)
        finally:
            await consumer.stop()

    @staticmethod
    async def _unmatched(callback: Callable[[Reply], Awaitable[None]], reply: Reply) -> None:
        try:
            await callback(reply)
        except Exception:
            log.exception(
                "on_unmatched failed for the reply at %s:%d:%d",
                reply.topic,
                reply.partition,
                reply.offset,
            )

    async def _delete_reply_topic(self) -> None:
        if self._reply_topic is None:
            return
        admin = AIOKafkaAdminClient(**client_kwargs(self.settings.kafka))
        await admin.start()
        try:
            await admin.delete_topics([self._reply_topic])
        finally:
            await admin.close()
            self._reply_topic = None


async def _seek_to_time(
    consumer: AIOKafkaConsumer, kafka: KafkaSettings, topic: str, since: float
) -> None:
    tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
    consumer.assign(tps)
    ends = await consumer.end_offsets(tps)  # before the search: nothing falls in between
    found = await consumer.offsets_for_times({tp: int(since * 1000) for tp in tps})
    for tp in tps:
        at = found.get(tp)
        consumer.seek(tp, ends[tp] if at is None else at.offset)


def answered(mailbox: str, reply: Reply) -> Reply:
    """``reply`` to a request sent to ``mailbox``; :class:`RequestFailed` when it says
    the request became a dead letter."""
    if reply.envelope.type == Failed.message_type:
        f = reply.parse(Failed)
        raise RequestFailed(
            f"{mailbox}: agent {f.agent} failed at stage {f.stage}: {f.error}: "
            f"{f.message} (dead letter in {f.dead_letter_topic})"
        )
    return reply


def reply_of(record: Any) -> Reply | None:
    """A consumed record as a :class:`Reply`; None when it is not a CloudEvent."""
    try:
        envelope = Envelope.from_headers(record.headers or ())
    except EnvelopeError:
        return None
    return Reply(
        envelope, record.key, record.value or b"", record.topic, record.partition, record.offset
    )
