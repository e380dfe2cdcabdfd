"""What an app runs on when it is not Kafka and Redis.

A started :class:`~streams.app.App` consumes its mailboxes with faust, publishes with a
:class:`~streams.publisher.Publisher` and keeps keyed state, idempotency claims and its
caches' L2 in Redis. An app whose ``transport`` is set before ``start()`` runs on that
transport instead: the same agent loops, processor, delivery and policies, with only the
edges replaced (where records come from, where they go, where the Redis data lives).
:class:`streams.testing.TestApp` runs apps on an in-memory one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import redis.asyncio as aioredis

    from streams.app import App


class Transport(Protocol):
    @property
    def redis(self) -> aioredis.Redis:
        """The client for keyed state, idempotency claims and the caches' L2."""
        ...

    def serve(self, app: App) -> None:
        """Run every agent of ``app`` (each loop from :meth:`App.agent_loop`), from the
        end of ``app.start()`` until ``app.stop()`` drains them."""
        ...
