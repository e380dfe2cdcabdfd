"""The broker side of the chaos scenarios: a private broker to stop and start, topic
creation and configuration, consumer lag, and worker memory."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from config import KafkaSettings, LocalSettings, Settings
from streams.app import DLQ_TOPIC_CONFIG
from streams.connection import client_kwargs, ensure_topics
from streams.tools.local import LocalKafka
from tests.integration.processes import free_port


class PrivateKafka(LocalKafka):
    """A single-node broker of one test: its own data directory and ports, the jars of the
    project's local broker (resolved once). The shared broker is never touched."""

    def __init__(self, settings: Settings, home: Path) -> None:
        shared_jars = LocalKafka(settings).jars
        private = settings.model_copy(
            update={
                "local": LocalSettings(
                    home=home,
                    kafka_version=settings.local.kafka_version,
                    controller_port=free_port(),
                    kafka_heap="512m",
                    start_timeout=120.0,
                ),
                "kafka": KafkaSettings(
                    **{
                        **settings.kafka.model_dump(),
                        "bootstrap_servers": f"127.0.0.1:{free_port()}",
                    }
                ),
            }
        )
        super().__init__(private)
        self.jars = shared_jars
        self.settings = private

    async def start(self) -> None:
        await asyncio.to_thread(self.up)

    async def stop(self) -> None:
        await asyncio.to_thread(self.down)


async def create_mailboxes(kafka: KafkaSettings, mailboxes: list[str], partitions: int) -> None:
    """Each mailbox with its reply and dead-letter topics, as the app would create them."""
    await ensure_topics(kafka, mailboxes, partitions)
    await ensure_topics(kafka, [f"{m}.replies" for m in mailboxes], partitions)
    await ensure_topics(kafka, [f"{m}.dlq" for m in mailboxes], partitions, DLQ_TOPIC_CONFIG)


async def set_dlq_writable(kafka: KafkaSettings, mailbox: str, writable: bool) -> None:
    """Make ``<mailbox>.dlq`` refuse every write (its ``max.message.bytes`` down to 1: the
    broker answers MESSAGE_TOO_LARGE, which no retry cures), or take writes again.
    AlterConfigs replaces a topic's whole configuration, so the app's own goes along.
    (``min.insync.replicas`` above the replication factor would make a transient error,
    but Kafka 4 caps it at the replication factor: writes still succeed.)"""
    config = dict(DLQ_TOPIC_CONFIG) if writable else {"max.message.bytes": "1"}
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    await admin.start()
    try:
        (response,) = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, f"{mailbox}.dlq", config)]
        )
    finally:
        await admin.close()
    errors = [r for r in response.resources if r[0] != 0]
    assert not errors, f"alter_configs failed: {errors}"


async def committed(kafka: KafkaSettings, group: str, topic: str) -> dict[int, int]:
    """The group's committed offset per partition of ``topic`` (absent: none yet)."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def end_offsets(kafka: KafkaSettings, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(**client_kwargs(kafka))
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, p) for p in range(partitions)])
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}


async def lag(kafka: KafkaSettings, group: str, topic: str, partitions: int) -> int:
    """End offsets minus the group's committed offsets, summed over ``topic``."""
    ends = await end_offsets(kafka, topic, partitions)
    done = await committed(kafka, group, topic)
    return sum(end - max(done.get(p, 0), 0) for p, end in ends.items())


def rss_mib(pid: int) -> float:
    """Resident memory of a process, MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")
