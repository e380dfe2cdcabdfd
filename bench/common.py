"""What the benchmarks share: how they fill input topics and how they start."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer

from config import KafkaSettings
from schemas import Headers
from streams.connection import admin_client, client_kwargs


def producer(kafka: KafkaSettings) -> AIOKafkaProducer:
    """acks=all, idempotent, the settings' linger and batch size: the runtime's guarantees."""
    return AIOKafkaProducer(
        acks="all",
        enable_idempotence=True,
        linger_ms=kafka.linger_ms,
        max_batch_size=kafka.max_batch_bytes,
        **client_kwargs(kafka),
    )


async def fill(
    kafka: KafkaSettings, topic: str, records: Iterable[tuple[bytes, bytes, Headers]]
) -> None:
    """Produce ``(key, value, headers)`` records to ``topic`` and wait until all are acked."""
    prod = producer(kafka)
    await prod.start()
    try:
        pending = []
        for key, value, headers in records:
            pending.append(await prod.send(topic, value, key=key, headers=headers))
            if len(pending) >= 10_000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await prod.stop()


def run(main: Callable[[argparse.Namespace], Coroutine[Any, Any, None]], args: Any) -> None:
    """Run ``main(args)`` on the event loop ``args.loop`` names (uvloop or asyncio)."""
    if args.loop == "uvloop":
        import uvloop

        uvloop.install()
    asyncio.run(main(args))


async def delete_topics(kafka: KafkaSettings, prefix: str) -> None:
    """Delete every topic whose name starts with ``prefix`` (a run's own topics)."""
    async with admin_client(kafka) as admin:
        names = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if names:
            await admin.delete_topics(names)
