"""The peers the throughput part compares against, each doing the same work as the
agent (decode and validate each value, a trivial handler, one result per event with
CloudEvents headers, commit), written the way each framework's documentation writes it.

* faust-streaming: an agent iterating ``stream.take_events(max, within)``; results via
  ``topic.send``; faust acknowledges and commits on its own (its commit does not wait
  for the results to be acknowledged).
* FastStream: a batch subscriber (``batch=True, max_records``) whose handler takes the
  validated messages and returns the batch's results, published as one batch
  (``publisher(batch=True)``).

Each runs with the agent's producer guarantees (acks=all, idempotent, the same linger
and batch size; FastStream commits after the handler and its publish) or with the
framework's own defaults (FastStream keeps the agent's batch size there too: one batch
of results must fit in one record batch). faust has no idempotence setting outside transactions: the
producer's extra settings are overridden here (see :func:`faust_app`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

import faust

from bench.messages import Payload, Result
from config import Settings
from schemas import Envelope
from streams.codec import encode, parse

Contestant = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def faust_app(app_id: str, settings: Settings, *, same_guarantees: bool) -> Any:
    """A faust app reading raw bytes, configured as agentstream's (no topic declaration,
    no leader topic) and, with ``same_guarantees``, producing with acks=all, idempotence
    and the settings' linger and batch size."""
    k = settings.kafka
    conf: dict[str, Any] = {
        "broker": [f"kafka://{s}" for s in k.bootstrap_list],
        "broker_client_id": k.client_id,
        "web_enabled": False,
        "topic_allow_declare": False,
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "value_serializer": "raw",
    }
    if same_guarantees:
        conf.update(
            producer_acks=-1,
            producer_linger=k.linger_ms / 1000,
            producer_max_batch_size=k.max_batch_bytes,
        )
    fapp: Any = faust.App(app_id, **conf)
    if same_guarantees:
        # faust enables idempotence only inside transactions: its aiokafka producer's
        # extra settings are the one place to ask for it.
        fapp.producer._settings_extra = lambda: {"acks": "all", "enable_idempotence": True}
    return fapp


async def run_faust(fapp: Any, stop: asyncio.Event) -> None:
    await fapp.start()
    try:
        while not stop.is_set():
            if fapp.crashed:
                raise RuntimeError(f"the faust app crashed: {fapp.crash_reason!r}")
            await asyncio.sleep(0.05)
    finally:
        await fapp.stop()


def faust_take(
    settings: Settings, src: str, dst: str, group: str, same_guarantees: bool, window: int
) -> Contestant:
    fapp = faust_app(group, settings, same_guarantees=same_guarantees)
    source = fapp.topic(src, key_serializer="raw", value_serializer="raw")
    sink = fapp.topic(dst, key_serializer="raw", value_serializer="raw")
    limits = settings.limits

    async def agent(stream: Any) -> None:
        async for events in stream.take_events(window, within=0.05):
            for event in events:
                msg = parse(Payload, event.value, limits.max_message_bytes, limits.max_json_depth)
                out = encode(Result(id=msg.id, size=len(msg.body)))
                headers = Envelope.new(Result.message_type, "bench").to_headers()
                await sink.send(key=event.key, value=out, headers=headers)

    fapp.agent(source, name=f"{group}.take")(agent)
    return lambda stop: run_faust(fapp, stop)


def faststream_batch(
    settings: Settings, src: str, dst: str, group: str, same_guarantees: bool, window: int
) -> Contestant:
    from faststream import AckPolicy
    from faststream.kafka import KafkaBroker

    k = settings.kafka
    # A batch of results is published as one record batch: its default 16 KiB holds
    # fewer than a hundred of them, so both variants get the agent's batch size.
    producer: dict[str, Any] = {"max_batch_size": k.max_batch_bytes}
    subscriber: dict[str, Any] = {}
    if same_guarantees:
        producer.update(acks="all", enable_idempotence=True, linger_ms=k.linger_ms)
        subscriber = {"ack_policy": AckPolicy.ACK}
    # Per-batch "Received"/"Processed" lines at DEBUG (not shown); errors still are.
    broker = KafkaBroker(
        k.bootstrap_list, client_id=k.client_id, log_level=logging.DEBUG, **producer
    )
    headers = {"ce_type": Result.message_type, "ce_source": "bench", "ce_specversion": "1.0"}

    async def handle(batch: list[Payload]) -> list[Result]:
        return [Result(id=m.id, size=len(m.body)) for m in batch]

    subscriber_of: Any = broker.subscriber(
        src, group_id=group, batch=True, max_records=window, auto_offset_reset="earliest",
        **subscriber,
    )  # fmt: skip
    publisher_of: Any = broker.publisher(dst, batch=True, headers=headers)
    subscriber_of(publisher_of(handle))

    async def run(stop: asyncio.Event) -> None:
        await broker.start()
        try:
            await stop.wait()
        finally:
            await broker.stop()

    return run
