"""The application: agents declared on a faust app, run by our consume loops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import faust
import redis.asyncio as aioredis
from faust.exceptions import ConsumerNotStarted

from config import Settings
from streams import faust_source, tracing
from streams.agent import AgentSpec, Redact, routes_of
from streams.cache import Cache
from streams.connection import ensure_topics, faust_credentials
from streams.errors import ConfigurationError
from streams.idempotency import Dedupe
from streams.lag import report_lag
from streams.loop import AgentLoop
from streams.metrics import Metrics
from streams.policy import Batch, Retry
from streams.publisher import Producer, Publisher
from streams.redis_connect import redis_client
from streams.state import KeyedState
from streams.transactions import Transactions

if TYPE_CHECKING:
    from streams.transport import Transport

log = logging.getLogger(__name__)
T = TypeVar("T")
DLQ_TOPIC_CONFIG = {"max.message.bytes": str(16 * 1024 * 1024)}
Guarantee = Literal["at_least_once", "exactly_once"]
GUARANTEES: tuple[Guarantee, ...] = ("at_least_once", "exactly_once")


class App:
    """A group of agents sharing one consumer group (the app id) and one producer."""

    def __init__(
        self,
        id: str,
        settings: Settings | None = None,
        *,
        partitions: int = 1,
        guarantee: Guarantee | None = None,
    ) -> None:
        if guarantee is not None and guarantee not in GUARANTEES:
            raise ConfigurationError(
                f"guarantee={guarantee!r}: choose one of {', '.join(GUARANTEES)}"
            )
        self.id = id
        self.settings = settings or Settings()
        self._guarantee = guarantee
        self.transactions: Transactions | None = None
        self.specs: list[AgentSpec] = []
        self.metrics = Metrics()
        self.loops: dict[str, AgentLoop] = {}
        self.partitions = partitions  # used when the app creates missing topics
        self.crashed: asyncio.Future[None] | None = None
        self.caches: dict[str, Cache] = {}
        self.state: KeyedState | None = None  # ``ctx.state``, from start to stop
        self.tracing: tracing.Tracing | None = None  # spans, when settings.tracing.enabled
        #: None: Kafka and Redis; else what the app runs on (set before start, see
        #: streams.transport)
        self.transport: Transport | None = None
        self._declared: list[str] = []  # topics the app writes and no agent reads
        self._faust: faust.App | None = None
        self._publisher: Publisher | None = None
        self._redis: aioredis.Redis | None = None
        self._lag: asyncio.Task[None] | None = None

    @property
    def guarantee(self) -> Guarantee:
        """``exactly_once``: what each partition's handled events produce and their input
        offsets commit in one Kafka transaction (streams.exactly_once); else at least
        once. The app's own choice, or ``settings.guarantee``."""
        return self._guarantee or self.settings.guarantee

    # -- declaration --------------------------------------------------------------------
    def agent(
        self,
        mailbox: str,
        *,
        name: str | None = None,
        reply_to: str | None = None,
        batch: Batch | None = None,
        concurrency: int | None = None,
        backlog: int | None = None,
        retry: Retry | None = None,
        timeout: float | None = None,
        idempotent: bool = False,
        redact: Redact | None = None,
    ) -> Callable[[T], T]:
        """Declare an agent reading ``mailbox``: a function, a batch function or a class
        with ``@handler`` methods (see :mod:`streams.agent`). Options left out take the
        settings' defaults (``AGENTSTREAM_BATCH__*``, ``AGENTSTREAM_RETRY__*``,
        ``AGENTSTREAM_LIMITS__*``).

        * ``mailbox``: the topic the agent reads (created at start when missing).
        * ``name``: the agent's name in metrics, logs and dead letters (default: the
          function's or class's name); unique within the app.
        * ``reply_to``: where results go when an event has no ``ce_replyto``
          (default ``<mailbox>.replies``).
        * ``batch``: how windows close (:class:`Batch`: ``max_size``, ``within``,
          ``eager``); windows are the unit of intake, not a gate for handling.
        * ``concurrency``: handler calls in flight at once; events of the same key run
          one after another in offset order (default 32). For a batch agent, windows
          handled at once; a window sharing a key with one in flight waits for it.
        * ``backlog``: records taken and not yet committed, at most (default 10,000);
          past it the agent's partitions are paused. A partition whose oldest record
          is still running may hold its share (the backlog over the partitions read,
          at least ``max_size``); past it that partition alone is paused.
        * ``retry``: :class:`Retry` (attempts, backoff, max_backoff, outage).
        * ``timeout``: seconds one handler call may take (default 30).
        * ``idempotent``: claim each ``ce_id`` in Redis so a redelivered event is not
          handled twice.
        * ``redact``: ``bytes -> bytes`` applied to the value of this agent's dead
          letters before they are written, for a mailbox whose raw values must not be
          kept (personal data); a replay sends the redacted value. It must not raise:
          if it does, the dead letter keeps an empty value.

        A policy whose worst case (``timeout`` x attempts + backoffs, or an outage ridden
        out) does not fit in the group's rebalance timeout is refused."""
        d = self.settings

        def register(target: T) -> T:
            routes, batch_fn = routes_of(target)
            agent_name = str(name or getattr(target, "__name__", mailbox))
            if any(s.name == agent_name for s in self.specs):
                raise ConfigurationError(f"agent {agent_name!r} is declared twice")
            spec = AgentSpec(
                name=agent_name,
                mailbox=mailbox,
                reply_topic=reply_to or f"{mailbox}.replies",
                batch=batch or Batch(d.batch.max_size, d.batch.within, d.batch.eager),
                concurrency=concurrency or d.batch.concurrency,
                backlog=backlog or d.batch.backlog,
                retry=retry or Retry(**d.retry.model_dump()),
                timeout=timeout or d.limits.handler_timeout,
                idempotent=idempotent,
                routes=routes,
                batch_fn=batch_fn,
                redact=redact,
            )
            _check_fits(spec, d.kafka.rebalance_timeout)
            self.specs.append(spec)
            return target

        return register

    def declare_topic(self, name: str) -> str:
        """Declare a topic the app writes and none of its agents reads (created at start
        when missing, like the mailboxes); returns ``name``."""
        if name not in self._declared:
            self._declared.append(name)
        return name

    def cache(
        self,
        name: str,
        *,
        ttl: float | None = None,
        l1_size: int | None = None,
        l1_ttl: float | None = None,
    ) -> Cache:
        """Declare a tiered cache (:class:`~streams.cache.Cache`), started with the app;
        its metrics are on the app's ``/metrics``. Options left out take the settings'
        (``AGENTSTREAM_CACHE__*``)."""
        if name in self.caches:
            raise ConfigurationError(f"cache {name!r} is declared twice")
        if self._faust is not None:
            raise ConfigurationError(f"cache {name!r} is declared after the app started")
        cache = Cache(
            name,
            self.settings,
            registry=self.metrics.registry,
            ttl=ttl,
            l1_size=l1_size,
            l1_ttl=l1_ttl,
        )
        self.caches[name] = cache
        return cache

    # -- lifecycle ----------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        """Point the app at other settings before it starts (tests, the worker CLI)."""
        if self._faust is not None:
            raise ConfigurationError("configure() must be called before start()")
        self.settings = settings
        for cache in self.caches.values():
            cache.configure(settings)

    def topics(self) -> list[str]:
        return [t for s in self.specs for t in (s.mailbox, s.reply_topic, s.dead_letter_topic)]

    async def start(self) -> None:
        if not self.specs:
            raise ConfigurationError(f"app {self.id!r} has no agents")
        transport = self.transport
        if transport is None:
            self._redis = await self._connect()
        else:
            self._redis = transport.redis
        self.state = KeyedState(self._redis, self.id)
        for cache in self.caches.values():
            await cache.start(None if transport is None else transport.redis)
        self.crashed = asyncio.get_running_loop().create_future()
        self.tracing = tracing.setup(self.settings.tracing, self.id)
        if transport is not None:
            transport.serve(self)
            return
        if self.guarantee == "exactly_once":
            mailboxes = [s.mailbox for s in self.specs]
            self.transactions = Transactions(self.settings.kafka, self.id, mailboxes, self._crash)
        self._faust = self._build_faust()
        await self._faust.start()
        agents = {s.mailbox: s.name for s in self.specs}
        self._lag = asyncio.create_task(report_lag(self._faust, agents, self.metrics.lag))

    async def _connect(self) -> aioredis.Redis:
        """Topics and the producer on Kafka; the Redis client for idempotency claims and
        keyed state (it connects on first use)."""
        kafka = self.settings.kafka
        mailboxes = [s.mailbox for s in self.specs]
        await ensure_topics(kafka, [*mailboxes, *self._declared], self.partitions)
        await ensure_topics(kafka, [s.reply_topic for s in self.specs], self.partitions)
        await ensure_topics(
            kafka, [s.dead_letter_topic for s in self.specs], self.partitions, DLQ_TOPIC_CONFIG
        )
        self._publisher = Publisher(kafka)
        await self._publisher.start()
        return redis_client(self.settings.redis)

    async def stop(self) -> None:
        """Drain every agent (finish, publish, acknowledge) within the shutdown timeout,
        commit, then stop."""
        if self._lag is not None:
            self._lag.cancel()
            self._lag = None
        timeout = self.settings.limits.shutdown_timeout
        await asyncio.gather(*(loop.drain(timeout) for loop in self.loops.values()))
        if self._faust is not None:
            with contextlib.suppress(Exception):
                await self._faust.consumer.commit()
            await self._faust.stop()
            self._faust = None
        if self.transactions is not None:
            await self.transactions.stop()
            self.transactions = None
        if self._publisher is not None:
            await self._publisher.stop()
            self._publisher = None
        for cache in self.caches.values():
            await cache.stop()
        self.state = None
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def readiness(self, broker_timeout: float) -> dict[str, Any]:
        """Whether this worker does its job: running, not draining, holding partitions,
        and a broker answering. The dict says which part is missing."""
        running = self._faust is not None and self.failure() is None
        draining = any(loop.draining for loop in self.loops.values())
        partitions = self._assignment()
        broker = False
        if self._publisher is not None:
            client = self._publisher.producer.client
            node = client.get_random_node()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(broker_timeout):
                    broker = node is not None and bool(await client.ready(node))
        return {
            "ready": running and not draining and bool(partitions) and broker,
            "app": self.id,
            "running": running,
            "draining": draining,
            "partitions": partitions,
            "broker": broker,
        }

    def _assignment(self) -> list[str]:
        """``topic:partition`` held by this worker; none before its consumer started."""
        if self._faust is None:
            return []
        try:
            assigned = self._faust.consumer.assignment()
        except ConsumerNotStarted:
            return []
        return sorted(f"{tp.topic}:{tp.partition}" for tp in assigned)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[App]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    def failure(self) -> BaseException | None:
        """Why an agent of this app stopped, if one did."""
        if self.crashed is not None and self.crashed.done() and not self.crashed.cancelled():
            return self.crashed.exception()
        return None

    def _crash(self, exc: BaseException) -> None:
        if self.crashed is not None and not self.crashed.done():
            self.crashed.set_exception(exc)

    # -- faust wiring -------------------------------------------------------------------
    def _build_faust(self) -> faust.App:
        fapp = faust_app(self.id, self.settings, self.transactions)
        for spec in self.specs:
            topic = fapp.topic(spec.mailbox, key_serializer="raw", value_serializer="raw")
            fapp.agent(topic, name=f"{self.id}.{spec.name}")(self._body(spec))
        return fapp

    def agent_loop(self, spec: AgentSpec, producer: Producer) -> AgentLoop:
        """The consume loop of ``spec``'s agent for this start (what ``stop`` drains),
        publishing through ``producer``."""
        dedupe = None
        if spec.idempotent and self._redis is not None:
            ttl = self.settings.limits.idempotency_ttl
            dedupe = Dedupe(self._redis, f"{self.id}.{spec.name}", ttl)
        loop = self.loops[spec.name] = AgentLoop(
            spec, producer, self.metrics, self.settings.limits, self._crash, dedupe,
            self.state, self.tracing, self.transactions, self.id,
        )  # fmt: skip
        return loop

    def _body(self, spec: AgentSpec) -> Callable[[Any], Any]:
        assert self._publisher is not None  # noqa: S101 - started first
        loop = self.agent_loop(spec, self._publisher)
        high_water = max(4 * spec.batch.max_size, 4096)

        async def body(stream: Any) -> None:
            # Iterating the channel subscribes the mailbox; its records then arrive in the
            # inbox, not in the stream (see streams.faust_source for why).
            aiter(stream.channel)
            app = stream.app
            inbox = faust_source.inbox_for(app, spec.mailbox, high_water, loop.quiesce)
            await loop.run(inbox, inbox)

        body.__name__ = spec.name
        return body


def faust_app(
    app_id: str, settings: Settings, transactions: Transactions | None = None
) -> faust.App:
    k = settings.kafka
    fapp = faust.App(
        app_id,
        broker=[f"kafka://{s}" for s in k.bootstrap_list],
        broker_client_id=k.client_id,
        broker_credentials=faust_credentials(k),
        web_enabled=False,
        # faust creates a data directory for tables at start; we keep none, so it goes
        # to the temp directory instead of the worker's working directory.
        datadir=str(Path(tempfile.gettempdir()) / "agentstream-faust-{conf.name}"),
        topic_allow_declare=False,
        topic_disable_leader=True,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        broker_session_timeout=k.session_timeout,
        broker_rebalance_timeout=k.rebalance_timeout,
        broker_heartbeat_interval=k.heartbeat_interval,
        # On rebalance faust waits until every delivered event is acknowledged, which our
        # loops do after the outputs are durable: no duplicates when members come and go.
        stream_wait_empty=True,
        producer_acks=-1,
    )
    isolation = "read_committed" if transactions else k.isolation_level
    faust_source.install(fapp, settings.limits.revoke_timeout, isolation, transactions)
    return fapp


def _check_fits(spec: AgentSpec, rebalance_timeout: float) -> None:
    worst = spec.retry.worst_case(spec.timeout)
    if worst > rebalance_timeout:
        r = spec.retry
        raise ConfigurationError(
            f"agent {spec.name!r}: one event may take up to {worst:.1f}s ({r.attempts} "
            f"attempt(s) of up to {spec.timeout}s with backoffs, or an outage ridden out for "
            f"{r.outage}s), longer than the group's rebalance timeout of {rebalance_timeout}s;"
            " lower the timeout, the attempts or Retry.outage, or raise "
            "AGENTSTREAM_KAFKA__REBALANCE_TIMEOUT"
        )
