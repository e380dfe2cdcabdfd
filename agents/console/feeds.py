"""The gateway's background readers: open escalations into Redis, replies on the
support system's replies topic (people's answers among them) into the customers' chats,
quality records into the KPIs. Each runs for the gateway's lifetime and restarts after a
failure, so a broker or Redis outage costs a pause, not a dead console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from config import KafkaSettings
from schemas import Envelope, EnvelopeError, Message
from schemas.support import Quality
from streams.connection import client_kwargs

log = logging.getLogger(__name__)
M = TypeVar("M", bound=Message)
# Topics the support app creates after the gateway subscribed are found this soon.
METADATA_MAX_AGE_MS = 5_000


async def supervise(name: str, run: Callable[[], Awaitable[None]], backoff: float = 2.0) -> None:
    """Run ``run`` until cancelled, starting it again ``backoff`` seconds after it fails."""
    while True:
        try:
            await run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; starting again in %.0fs", name, backoff)
        await asyncio.sleep(backoff)


async def start(consumer: AIOKafkaConsumer) -> None:
    """Start ``consumer``; when that fails or is cancelled (the gateway stopping at once),
    let it finish and stop it: aiokafka leaves connections open after a start cut short."""
    task = asyncio.ensure_future(consumer.start())
    try:
        await asyncio.shield(task)
    except BaseException:
        with contextlib.suppress(Exception):
            await task
        await consumer.stop()
        raise


async def subscribe_when_there(consumer: AIOKafkaConsumer, topic: str, every: float = 2.0) -> None:
    """Subscribe ``consumer`` (started without topics) to ``topic`` once the topic exists.
    A consumer started with its topics waits up to its request timeout (40 s) for their
    metadata and cannot be stopped meanwhile; a gateway started before the support app
    would take that long to stop."""
    while topic not in await consumer.topics():  # noqa: ASYNC110 - polling the cluster
        await asyncio.sleep(every)
    consumer.subscribe([topic])


async def follow_group(
    kafka: KafkaSettings,
    topic: str,
    group: str,
    model: type[M],
    handle: Callable[[M, Any], Awaitable[None]],
) -> None:
    """Hand every ``model`` of ``topic`` to ``handle`` (with its record), as one of the
    replicas of consumer group ``group``: each record is handled by one replica, and an
    offset is committed only once ``handle`` has kept what it needs in Redis, so nothing
    is lost or left to one replica's memory."""
    consumer = AIOKafkaConsumer(
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        **client_kwargs(kafka),
    )
    await start(consumer)
    try:
        await subscribe_when_there(consumer, topic)
        while True:
            batches = await consumer.getmany(timeout_ms=1000)
            for records in batches.values():
                for record in records:
                    message = decode(record, model)
                    if message is not None:
                        await handle(message, record)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()


async def follow_quality(kafka: KafkaSettings, topic: str, add: Callable[[Quality], Any]) -> None:
    """Feed every quality record of ``topic``, from its beginning, to ``add``. No group:
    each replica reads them all and computes the same figures."""
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        metadata_max_age_ms=METADATA_MAX_AGE_MS,
        **client_kwargs(kafka),
    )
    await start(consumer)
    try:
        await subscribe_when_there(consumer, topic)
        async for record in consumer:
            quality = decode(record, Quality)
            if quality is not None:
                add(quality)
    finally:
        await consumer.stop()


def decode(record: Any, model: type[M]) -> M | None:
    """The record as ``model``, or None (logged) when it is something else."""
    try:
        envelope = Envelope.from_headers(record.headers or ())
        if envelope.type != model.message_type:
            return None
        return model.model_validate_json(record.value or b"")
    except (EnvelopeError, ValidationError) as e:
        log.warning(
            "skipped %s:%d:%d, not a valid %s: %s",
            record.topic,
            record.partition,
            record.offset,
            model.message_type,
            e,
        )
        return None
