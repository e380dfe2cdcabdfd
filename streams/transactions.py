"""The transactional producers of an exactly-once app: one per input partition.

aiokafka has only the transaction API of KIP-98: an offset commit inside a transaction
carries the group id, not the consumer's generation, so the broker cannot tell a zombie
(a worker that lost its partitions without knowing it: stopped past its session timeout,
cut off by a network partition) from the partition's new owner. Fencing therefore rests
on the transactional id, as in Kafka Streams' first exactly-once mode: one producer per
input partition, with the id ``<app id>.<topic>.<partition>``. A worker that is assigned
a partition starts its producer *before* it reads the partition's committed offset;
``InitProducerId`` bumps the id's epoch, aborts whatever transaction an earlier owner left
open, and fences that owner: its next send, offset commit or transaction commit fails
with ``ProducerFenced``, and it stops (exit 1) without anything it did becoming visible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    InvalidTransactionTimeout,
    KafkaError,
    KafkaTimeoutError,
    TransactionalIdAuthorizationFailed,
)

from config import KafkaSettings
from streams.connection import client_kwargs, start_client
from streams.errors import ConfigurationError, FatalError

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16 * 1024 * 1024
#: Errors that say the broker will not run transactions for us at all.
REFUSALS = (
    TransactionalIdAuthorizationFailed,
    ClusterAuthorizationFailedError,
    InvalidTransactionTimeout,
)


class Fenced(FatalError):
    """Another worker took over a partition this one still handled (a zombie): nothing of
    its open transaction becomes visible, and the worker must stop."""


def transactional_id(app_id: str, topic: str, partition: int) -> str:
    return f"{app_id}.{topic}.{partition}"


class Transactions:
    """Transactional producers by input partition, started on assignment (fencing any
    earlier owner) and stopped on revocation."""

    def __init__(
        self,
        kafka: KafkaSettings,
        app_id: str,
        topics: Iterable[str],
        on_fatal: Callable[[BaseException], None] = lambda _: None,
    ) -> None:
        if kafka.transaction_timeout < kafka.request_timeout:
            raise ConfigurationError(
                f"kafka.transaction_timeout ({kafka.transaction_timeout}s) is shorter than "
                f"kafka.request_timeout ({kafka.request_timeout}s): a transaction's sends and "
                "commit may wait that long for the broker, and the broker would abort the "
                "transaction meanwhile; raise AGENTSTREAM_KAFKA__TRANSACTION_TIMEOUT (at most "
                "the broker's transaction.max.timeout.ms) or lower the request timeout"
            )
        self.kafka = kafka
        self.app_id = app_id
        self.topics = frozenset(topics)  # the mailboxes of the exactly-once agents
        self.on_fatal = on_fatal  # a producer that cannot start stops the app
        self._producers: dict[tuple[str, int], AIOKafkaProducer] = {}

    def producer(self, topic: str, partition: int) -> AIOKafkaProducer:
        """The producer of an assigned input partition."""
        try:
            return self._producers[(topic, partition)]
        except KeyError:
            raise Fenced(f"{topic}[{partition}] is not assigned to this worker any more") from None

    def assigned(self, topic: str, partition: int) -> bool:
        return (topic, partition) in self._producers

    async def assign(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Start the producers of newly assigned partitions (of our topics), at once."""
        new = [tp for tp in set(partitions) if tp[0] in self.topics and tp not in self._producers]
        if not new:
            return
        started = await asyncio.gather(*(self._start(*tp) for tp in new), return_exceptions=True)
        failures = [r for r in started if isinstance(r, BaseException)]
        for tp, result in zip(new, started, strict=True):
            if isinstance(result, AIOKafkaProducer):
                self._producers[tp] = result
        if failures:
            raise failures[0]
        log.debug("transactional producers started for %s", sorted(new))

    async def revoke(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Stop the producers of revoked partitions (an open transaction is aborted by
        the next owner's start)."""
        gone = [self._producers.pop(tp) for tp in set(partitions) if tp in self._producers]
        await asyncio.gather(*(_stop(p) for p in gone))

    async def renew(self, topic: str, partition: int) -> None:
        """Replace the producer of a partition after a failed transaction: the new one's
        start aborts what the old one left open (same transactional id, next epoch)."""
        tp = (topic, partition)
        old = self._producers.get(tp)
        if old is None:
            raise Fenced(f"{topic}[{partition}] is not assigned to this worker any more")
        await _stop(old)
        self._producers[tp] = await self._start(topic, partition)

    async def stop(self) -> None:
        await self.revoke(list(self._producers))

    async def _start(self, topic: str, partition: int) -> AIOKafkaProducer:
        kafka = self.kafka
        compression = None if kafka.compression == "none" else kafka.compression
        producer = AIOKafkaProducer(
            transactional_id=transactional_id(self.app_id, topic, partition),
            transaction_timeout_ms=int(kafka.transaction_timeout * 1000),
            linger_ms=kafka.linger_ms,
            max_batch_size=kafka.max_batch_bytes,
            max_request_size=MAX_REQUEST_BYTES,
            compression_type=compression,
            request_timeout_ms=int(kafka.request_timeout * 1000),
            **client_kwargs(kafka),
        )
        try:
            await start_client(producer, kafka)
            await _initialized(producer, kafka.request_timeout)
        except KafkaError as e:
            await _stop(producer)
            if isinstance(e, REFUSALS):
                raise ConfigurationError(
                    f"the broker refused a transactional producer for {topic}[{partition}] "
                    f"({type(e).__name__}: {e}); exactly-once needs a broker that allows "
                    "transactions (transaction.state.log.* topics that can be created, and "
                    "Write on the TransactionalId and IdempotentWrite on the cluster when "
                    f"ACLs are on), and kafka.transaction_timeout "
                    f"({kafka.transaction_timeout}s) within the broker's "
                    "transaction.max.timeout.ms"
                ) from e
            raise
        except BaseException:
            await _stop(producer)
            raise
        return producer


async def _initialized(producer: Any, seconds: float) -> None:
    """Until the producer has its id and epoch: ``InitProducerId`` fences the partition's
    earlier owner and is answered once the transaction that owner left open is aborted.
    aiokafka requests it from its sender task, which ends on an error it cannot retry."""
    # aiokafka's private parts used here are named in tests/unit/test_transactions.py
    pid = asyncio.ensure_future(producer._txn_manager.wait_for_pid())
    sender = producer._sender.sender_task
    try:
        done, _ = await asyncio.wait({pid, sender}, timeout=seconds, return_when="FIRST_COMPLETED")
    finally:
        pid.cancel()
    if pid in done and not pid.cancelled() and pid.exception() is None:
        return
    if sender in done:
        error = sender.exception()
        if error is not None:
            raise error
    raise KafkaTimeoutError(f"no producer id within {seconds}s")


async def _stop(producer: Any) -> None:
    with contextlib.suppress(Exception):
        await producer.stop()
