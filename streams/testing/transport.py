"""The transport :class:`~streams.testing.TestApp` runs an app on: every agent's real
loop (windows, lanes, processor, delivery, policies) fed from an in-memory mailbox and
publishing to an in-memory broker, with keyed state, idempotency claims and the caches'
L2 on an in-memory Redis (see :mod:`streams.transport`)."""

from __future__ import annotations

import asyncio
import dataclasses

from streams.agent import AgentSpec
from streams.app import App
from streams.policy import Retry
from streams.testing.broker import Inbox, MemoryBroker, MemoryPublisher
from streams.testing.redis import MemoryRedis


class MemoryTransport:
    """What an app runs on in :class:`TestApp` (a :class:`streams.transport.Transport`).
    ``backoff=False`` runs retries without their backoff delays; ``outage`` replaces
    every agent's ``Retry.outage`` (how long transient failures are retried)."""

    def __init__(
        self,
        broker: MemoryBroker,
        redis: MemoryRedis,
        *,
        backoff: bool = False,
        outage: float | None = None,
    ) -> None:
        self.broker = broker
        self.producer = MemoryPublisher(broker)
        self.backoff = backoff
        self.outage = outage
        self.inboxes: dict[str, Inbox] = {}
        self._redis = redis
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def redis(self) -> MemoryRedis:
        return self._redis

    def serve(self, app: App) -> None:
        for spec in app.specs:
            loop = app.agent_loop(self._policy(spec), self.producer)
            inbox = self.inboxes[spec.name] = Inbox(self.broker.partitions)
            self.broker.subscribe(spec.mailbox, inbox.put)
            self._tasks.append(asyncio.create_task(loop.run(inbox, inbox), name=spec.name))

    async def close(self) -> None:
        """After ``app.stop()``: the loops' tasks have ended (or end now)."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _policy(self, spec: AgentSpec) -> AgentSpec:
        r = spec.retry
        retry = Retry(
            r.attempts,
            r.backoff if self.backoff else 0.0,
            r.max_backoff if self.backoff else 0.0,
            r.outage if self.outage is None else self.outage,
        )
        return spec if retry == r else dataclasses.replace(spec, retry=retry)
