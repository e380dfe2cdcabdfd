"""Run an app's agents in memory, for tests: no broker, no Redis, the production code
paths in between (see docs/testing.md).

::

    from streams.testing import TestApp

    async def test_routing() -> None:
        async with TestApp(app) as t:
            reply = await t.ask("support.inquiries", Inquiry(text="my invoice"))
            assert reply.parse(Routed).queue == "billing"
"""

from streams.testing.broker import MemoryBroker, Record
from streams.testing.harness import TestApp, headers_for
from streams.testing.redis import MemoryRedis
from streams.testing.transport import MemoryTransport

__all__ = [
    "MemoryBroker",
    "MemoryRedis",
    "MemoryTransport",
    "Record",
    "TestApp",
    "headers_for",
]
