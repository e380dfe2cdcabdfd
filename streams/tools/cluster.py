"""What the operator commands ask the cluster: topics (list, create, describe with their
offsets and configs) and a consumer group's lag. Every client comes from
:mod:`streams.connection`, so the settings' SASL and TLS apply to each."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import for_code

from config import KafkaSettings
from streams.connection import admin_client, default_replication, reader
from streams.errors import OperationFailed, UnknownTopic

#: ``config_source`` of a value set on the topic itself (DescribeConfigs).
TOPIC_CONFIG_SOURCE = 1
UNKNOWN_TOPIC_CODE = 3


@dataclass(frozen=True, slots=True)
class PartitionInfo:
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    earliest: int | None = None  # offsets, when asked for
    latest: int | None = None


@dataclass(frozen=True, slots=True)
class TopicInfo:
    name: str
    internal: bool
    partitions: list[PartitionInfo]
    configs: dict[str, str | None] = field(default_factory=dict)  # None: sensitive

    @property
    def replication(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "partitions": len(self.partitions),
            "replication": self.replication,
            "internal": self.internal,
        }


def _topic(described: dict[str, Any]) -> TopicInfo:
    parts = [
        PartitionInfo(p["partition"], p["leader"], list(p["replicas"]), list(p["isr"]))
        for p in sorted(described["partitions"], key=lambda p: p["partition"])
    ]
    return TopicInfo(described["topic"], bool(described["is_internal"]), parts)


def is_internal(topic: TopicInfo) -> bool:
    return topic.internal or topic.name.startswith("__")


async def list_topics(
    kafka: KafkaSettings, *, internal: bool = False, match: str | None = None
) -> list[TopicInfo]:
    """Every topic, by name; internal ones (``__consumer_offsets``, ...) only when asked."""
    async with admin_client(kafka) as admin:
        described = await admin.describe_topics()
    topics = [_topic(d) for d in described if d["error_code"] == 0]
    return sorted(
        (
            t
            for t in topics
            if (internal or not is_internal(t))
            and (match is None or fnmatch.fnmatch(t.name, match))
        ),
        key=lambda t: t.name,
    )


async def create_topic(
    kafka: KafkaSettings,
    name: str,
    partitions: int,
    replication: int | None = None,
    configs: dict[str, str] | None = None,
) -> int:
    """Create ``name``; the replication factor used. Refusals (the topic exists, an
    unknown config, too few brokers) raise :class:`OperationFailed` with the broker's
    reason."""
    async with admin_client(kafka) as admin:
        factor = replication or default_replication(admin)
        response = await admin.create_topics(
            [NewTopic(name, partitions, factor, topic_configs=configs or {})]
        )
    for error in response.to_object()["topic_errors"]:
        if error["error_code"] != 0:
            reason = error["error_message"] or for_code(error["error_code"]).__name__
            raise OperationFailed(f"topic {name!r} was not created: {reason}")
    return factor


async def describe_topic(
    kafka: KafkaSettings, name: str, *, all_configs: bool = False
) -> TopicInfo:
    """Partitions (leader, replicas, ISR, earliest and latest offsets) and configs: those
    set on the topic, or with ``all_configs`` every one, defaults included."""
    async with admin_client(kafka) as admin:
        (described,) = await admin.describe_topics([name])
        if described["error_code"] == UNKNOWN_TOPIC_CODE:
            raise UnknownTopic(f"topic {name!r} does not exist on the cluster")
        if described["error_code"] != 0:
            raise OperationFailed(f"{name}: {for_code(described['error_code']).__name__}")
        (response,) = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name)])
    topic = _topic(described)
    configs = _configs(response.to_object()["resources"][0], all_configs)
    offsets = await offsets_of(kafka, [TopicPartition(name, p.partition) for p in topic.partitions])
    parts = [
        PartitionInfo(p.partition, p.leader, p.replicas, p.isr, *offsets[(name, p.partition)])
        for p in topic.partitions
    ]
    return TopicInfo(topic.name, topic.internal, parts, configs)


def _configs(resource: dict[str, Any], everything: bool) -> dict[str, str | None]:
    if resource["error_code"] != 0:
        raise OperationFailed(f"configs not readable: {resource['error_message']}")
    return {
        e["config_names"]: None if e["is_sensitive"] else e["config_value"]
        for e in sorted(resource["config_entries"], key=lambda e: e["config_names"])
        if everything or e["config_source"] == TOPIC_CONFIG_SOURCE
    }


async def offsets_of(
    kafka: KafkaSettings, tps: list[TopicPartition]
) -> dict[tuple[str, int], tuple[int, int]]:
    """(earliest, latest) offset of each partition."""
    async with reader(kafka) as consumer:
        earliest = await consumer.beginning_offsets(tps)
        latest = await consumer.end_offsets(tps)
    return {(tp.topic, tp.partition): (earliest[tp], latest[tp]) for tp in tps}


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int
    lag: int


async def group_lag(
    kafka: KafkaSettings, group: str, topic: str | None = None
) -> list[PartitionLag]:
    """Per partition of every topic the group committed offsets in: committed offset,
    end offset and lag (from the earliest offset where the group never committed)."""
    async with admin_client(kafka) as admin:
        committed = {
            (tp.topic, tp.partition): meta.offset
            for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
            if meta.offset >= 0 and topic in (None, tp.topic)
        }
        if not committed:
            where = "" if topic is None else f" in topic {topic!r}"
            raise OperationFailed(
                f"consumer group {group!r} has no committed offsets{where} "
                "(unknown group, or it never committed)"
            )
        topics = sorted({t for t, _ in committed})
        described = await admin.describe_topics(topics)
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if d["error_code"] == 0
        for p in d["partitions"]
    ]
    offsets = await offsets_of(kafka, tps)
    rows = []
    for (name, partition), (earliest, end) in sorted(offsets.items()):
        done = committed.get((name, partition))
        rows.append(
            PartitionLag(
                name, partition, done, end, max(0, end - (earliest if done is None else done))
            )
        )
    return rows
