"""Run an app's agents in memory, the way a worker runs them on Kafka, and look at
what they published.

:class:`TestApp` starts the app on a :class:`~streams.testing.transport.MemoryTransport`
and drives it: it puts records on topics, runs the agents until a reply arrives or none
has work left (closing windows that nothing else can reach), and reads topics back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import TypeVar

from schemas import Envelope, Headers, Message
from streams.app import App
from streams.client import Reply, answered, reply_of
from streams.codec import encode
from streams.dlq import DeadLetter, dead_letter_topic
from streams.errors import ConfigurationError, RequestTimeout
from streams.state import KeyedState
from streams.testing.broker import MemoryBroker, Record
from streams.testing.redis import MemoryRedis
from streams.testing.running import Runner
from streams.testing.transport import MemoryTransport
from streams.tracing import current_traceparent

M = TypeVar("M", bound=Message)
SOURCE = "agentstream.testing"


class TestApp:
    """``async with TestApp(app) as t:`` runs ``app``'s agents in memory until the block
    ends. ``t.send`` and ``t.send_raw`` put records on topics, ``await t.ask`` waits for
    the reply to a request (as :meth:`streams.Client.ask`), ``await t.drain()`` runs
    until no agent has work left; ``t.records``, ``t.published``, ``t.messages`` and
    ``t.dead_letters`` read what is on a topic, ``t.state`` is the app's keyed state.

    The app keeps its settings but for the caches' L3 (off: nothing outlives the run).
    Retries run without their backoff delays unless ``backoff=True``; ``outage`` replaces
    ``Retry.outage`` of every agent (a handler failing with ``ConnectionError`` is
    otherwise retried for 60 s). Keyed state, idempotency claims and cached values live
    in ``redis``: a fresh :class:`MemoryRedis` unless one is given (pass the previous
    run's ``t.redis`` to restart an app on the state it left). How long the end of the
    block waits for handlers still running is the app's ``limits.shutdown_timeout``."""

    __test__ = False  # a harness, not a pytest test class

    def __init__(
        self,
        app: App,
        *,
        backoff: bool = False,
        outage: float | None = None,
        redis: MemoryRedis | None = None,
    ) -> None:
        self.app = app
        self.broker = MemoryBroker(app.partitions)
        self.redis = MemoryRedis() if redis is None else redis
        self.transport = MemoryTransport(self.broker, self.redis, backoff=backoff, outage=outage)
        self.runner = Runner(app, self.transport)
        self.reply_topic = f"agentstream.replies.{uuid.uuid4().hex}"
        self._asks: dict[str, asyncio.Future[Reply]] = {}
        self._own_settings = app.settings
        self._running = False
        self._used = False  # one run per TestApp: a restart is a new TestApp (redis=...)

    async def __aenter__(self) -> TestApp:
        await self.start()
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
        failure = self.app.failure()
        if et is None and failure is not None and failure is not self.runner.raised:
            raise failure

    async def start(self) -> None:
        app = self.app
        if self._used:
            raise ConfigurationError("a TestApp runs once; start a new one (redis=t.redis)")
        if app.transport is not None:
            raise ConfigurationError(f"app {app.id!r} already runs on a transport")
        self._used = True
        self._own_settings = own = app.settings
        app.configure(own.model_copy(update={"cache": own.cache.model_copy(update={"l3_url": ""})}))
        app.transport = self.transport
        self.broker.subscribe(self.reply_topic, self._on_reply)
        try:
            await app.start()
        except BaseException:
            await self._restore()
            raise
        self._running = True

    async def stop(self) -> None:
        """Stop the app as a worker does (drain within ``limits.shutdown_timeout``)."""
        if not self._running:
            return
        self._running = False
        try:
            await self.app.stop()
        finally:
            await self._restore()

    async def _restore(self) -> None:
        await self.transport.close()
        self.app.transport = None
        self.app.configure(self._own_settings)

    # -- putting records on topics --------------------------------------------------------
    def send(
        self,
        mailbox: str,
        msg: Message,
        *,
        key: bytes | None = None,
        replyto: str | None = None,
        correlationid: str | None = None,
    ) -> Envelope:
        """Put ``msg`` on ``mailbox`` as :meth:`streams.Client.send` does; the agents
        handle it once the test awaits (``drain``, ``ask``)."""
        self._check_running()
        envelope = Envelope.new(
            msg.message_type, SOURCE, replyto=replyto, correlationid=correlationid
        )
        envelope.traceparent = current_traceparent()
        self.broker.append(mailbox, encode(msg), key, envelope.to_headers())
        return envelope

    def send_raw(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: Iterable[tuple[str, bytes]] = (),
    ) -> Record:
        """Put any bytes on ``topic`` (bad input: no CloudEvents headers, bad JSON...)."""
        self._check_running()
        return self.broker.append(topic, value, key, list(headers))

    # -- running ------------------------------------------------------------------------
    async def ask(
        self,
        mailbox: str,
        msg: Message,
        *,
        key: bytes | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-request deadline, as Client.ask
    ) -> Reply:
        """Send ``msg`` with a reply topic and run the agents until the reply arrives,
        as :meth:`streams.Client.ask`: :class:`~streams.RequestFailed` when the request
        became a dead letter, :class:`~streams.RequestTimeout` when nothing answers."""
        correlationid = uuid.uuid4().hex
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._asks[correlationid] = future
        try:
            self.send(mailbox, msg, key=key, replyto=self.reply_topic, correlationid=correlationid)
            try:
                await self.runner.until(future.done, timeout, settled_turns=0)
            except TimeoutError as e:
                raise RequestTimeout(
                    f"no reply from {mailbox} within {timeout}s (correlation id "
                    f"{correlationid}); {e}"
                ) from e
        finally:
            self._asks.pop(correlationid, None)
        return answered(mailbox, future.result())

    async def drain(self, *, timeout: float = 10.0, flush: bool = True) -> None:  # noqa: ASYNC109
        """Run the agents until none has work left: every record taken, handled and
        acknowledged, with everything it produced on its topics (results, fan-out, dead
        letters, ``Failed`` replies) and handled in turn when it went to a mailbox.

        With ``flush``, a window waiting for more records closes as soon as nothing else
        can arrive in it, as if its ``within`` had run out; ``flush=False`` leaves
        windows to their own timers. Raises what stopped an agent (a ``FatalError`` from
        a handler, a failure of the runtime), and ``TimeoutError`` naming the agents
        still busy after ``timeout`` seconds."""
        self._check_running()
        await self.runner.until(self.runner.idle, timeout, flush=flush)

    # -- reading topics -----------------------------------------------------------------
    def records(self, topic: str) -> list[Record]:
        """Every record on ``topic``, in the order it arrived."""
        return self.broker.records(topic)

    def published(self, topic: str) -> list[Reply]:
        """The events on ``topic`` (records with CloudEvents headers: all that agents
        publish), as :meth:`streams.Client.results` reads them."""
        return [r for r in map(reply_of, self.broker.records(topic)) if r is not None]

    def messages(self, topic: str, model: type[M]) -> list[M]:
        """Every record on ``topic`` as a ``model``; a record of another ``ce_type`` is
        an error (read such topics with :meth:`published`)."""
        out: list[M] = []
        for record in self.broker.records(topic):
            reply = reply_of(record)
            found = None if reply is None else reply.envelope.type
            if reply is None or found != model.message_type:
                what = found or "record without CloudEvents headers"
                at = f"{record.partition}:{record.offset}"
                raise ValueError(f"{topic} {at} is a {what}, not a {model.message_type}")
            out.append(reply.parse(model))
        return out

    def dead_letters(self, name: str) -> list[DeadLetter]:
        """The dead letters of mailbox ``name`` (or of the topic ``name.dlq``), each with
        the failed record and its ``dlq.*`` headers (``letter.header("dlq.stage")``)."""
        return [
            DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, r.headers)
            for r in self.broker.records(dead_letter_topic(name))
        ]

    @property
    def state(self) -> KeyedState:
        """The app's keyed state (``ctx.state`` of its handlers)."""
        if self.app.state is None:
            raise ConfigurationError("TestApp is not running")
        return self.app.state

    # -- bookkeeping --------------------------------------------------------------------
    def _check_running(self) -> None:
        if not self._running:
            raise ConfigurationError("TestApp is not running: use `async with TestApp(app)`")

    def _on_reply(self, record: Record) -> None:
        reply = reply_of(record)
        if reply is None or reply.envelope.correlationid is None:
            return
        future = self._asks.get(reply.envelope.correlationid)
        if future is not None and not future.done():
            future.set_result(reply)


def headers_for(model: type[Message], **attributes: str) -> Headers:
    """CloudEvents headers of a fresh ``model`` event (for ``send_raw`` of a value that
    is not a valid ``model``); ``attributes`` set envelope fields (``replyto=...``)."""
    envelope = Envelope.new(model.message_type, SOURCE)
    return dataclasses.replace(envelope, **attributes).to_headers()
