"""The latency floor: a raw aiokafka ping-pong through the same broker, with the same
producer settings (acks=all, idempotent, the same linger) and the agent's fetch wait.

    python -m bench.pingpong MAILBOX [LINGER_MS]    # a responder, until SIGTERM

A responder echoes each record's value to the topic named in its ``reply`` header;
:class:`Requester` sends pings and resolves each by the correlation id in the value.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from types import TracebackType

from aiokafka import AIOKafkaConsumer

from bench.common import producer
from config import KafkaSettings, Settings
from streams.connection import client_kwargs, ensure_topics
from streams.errors import RequestTimeout
from streams.faust_source import FETCH_MAX_WAIT_MS


async def serve(kafka: KafkaSettings, mailbox: str) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    consumer = AIOKafkaConsumer(
        mailbox, group_id=f"{mailbox}-pong", auto_offset_reset="latest",
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS, **client_kwargs(kafka),
    )  # fmt: skip
    prod = producer(kafka)
    await consumer.start()
    await prod.start()
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for r in records:
                    reply = dict(r.headers)["reply"].decode()
                    await prod.send(reply, r.value, key=r.key)
    finally:
        await consumer.stop()
        await prod.stop()


class Requester:
    """Pings to ``mailbox``, pongs read back from a fresh reply topic of its own."""

    def __init__(self, kafka: KafkaSettings, mailbox: str) -> None:
        self.kafka, self.mailbox = kafka, mailbox
        self.reply = f"{mailbox}.pongs-{uuid.uuid4().hex[:8]}"
        self.producer = producer(kafka)
        self.consumer = AIOKafkaConsumer(self.reply, **client_kwargs(kafka))
        self.pending: dict[bytes, asyncio.Future[None]] = {}
        self.listener: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Requester:
        await ensure_topics(self.kafka, [self.reply])
        await self.producer.start()
        await self.consumer.start()
        self.listener = asyncio.create_task(self._listen())
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.listener is not None:
            self.listener.cancel()
        await self.consumer.stop()
        await self.producer.stop()

    async def _listen(self) -> None:
        async for record in self.consumer:
            future = self.pending.pop(record.value, None)
            if future is not None and not future.done():
                future.set_result(None)

    async def ask(self, i: int, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - a deadline
        corr = b"%d-%s" % (i, uuid.uuid4().bytes.hex().encode())
        future = self.pending[corr] = asyncio.get_running_loop().create_future()
        await self.producer.send_and_wait(
            self.mailbox, corr, key=b"%d" % i, headers=[("reply", self.reply.encode())]
        )
        try:
            async with asyncio.timeout(timeout):
                await future
        except TimeoutError as e:
            self.pending.pop(corr, None)
            raise RequestTimeout(f"no pong for {corr!r} within {timeout}s") from e


def cli() -> None:
    import uvloop

    kafka = Settings().kafka
    if len(sys.argv) > 2:
        kafka = kafka.model_copy(update={"linger_ms": int(sys.argv[2])})
    uvloop.install()
    asyncio.run(serve(kafka, sys.argv[1]))


if __name__ == "__main__":
    cli()
