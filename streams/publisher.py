"""The one producer of a worker or client: acks=all, idempotent, futures per record."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from config import KafkaSettings
from schemas import Envelope, Headers, Message
from streams.codec import encode
from streams.connection import client_kwargs

MAX_REQUEST_BYTES = 16 * 1024 * 1024  # dead letters carry oversized inputs byte for byte


class Publisher:
    """Thin wrapper over ``AIOKafkaProducer``; ``send`` returns the delivery future."""

    def __init__(self, kafka: KafkaSettings) -> None:
        compression = None if kafka.compression == "none" else kafka.compression
        self.producer = AIOKafkaProducer(
            acks="all",
            enable_idempotence=True,
            linger_ms=kafka.linger_ms,
            max_batch_size=kafka.max_batch_bytes,
            max_request_size=MAX_REQUEST_BYTES,
            compression_type=compression,
            **client_kwargs(kafka),
        )

    async def start(self) -> None:
        await self.producer.start()

    async def stop(self) -> None:
        await self.producer.stop()

    async def send_raw(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Headers
    ) -> asyncio.Future[Any]:
        """Queue one record; the returned future resolves when the broker acknowledged it."""
        fut: asyncio.Future[Any] = await self.producer.send(
            topic, value=value, key=key, headers=headers
        )
        return fut

    async def send(
        self, topic: str, msg: Message, envelope: Envelope, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        return await self.send_raw(topic, encode(msg), key, envelope.to_headers())

    async def flush(self) -> None:
        await self.producer.flush()
