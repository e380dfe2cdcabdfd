"""Reading and replaying dead letters.

A dead letter holds the failed record's key, value and headers byte for byte, plus
``dlq.*`` headers saying where and why (:mod:`streams.deadletter`). Replaying sends the
original record back to its topic with ``dlq.replays`` counting how often that happened,
so an event that keeps failing cannot loop forever: past ``max_replays`` it is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from aiokafka import TopicPartition

from config import KafkaSettings
from schemas import Headers
from streams.connection import partitions_of, reader
from streams.deadletter import DLQ_PREFIX, REPLAYS_HEADER
from streams.publisher import Publisher
from streams.reading import records


def dead_letter_topic(name: str) -> str:
    """``orders`` and ``orders.dlq`` both name the dead letters of mailbox ``orders``."""
    return name if name.endswith(".dlq") else f"{name}.dlq"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    def header(self, name: str, default: str = "") -> str:
        """A header (``dlq.stage``, ``ce_type``, ...; the last of that name), decoded."""
        found = [v for k, v in self.headers if k == name]
        return found[-1].decode(errors="replace") if found else default

    @property
    def replays(self) -> int:
        raw = self.header(REPLAYS_HEADER, "0")
        return int(raw) if raw.isdigit() else 0

    def original_headers(self) -> Headers:
        """The failed record's own headers: every ``dlq.*`` one removed."""
        return [(k, v) for k, v in self.headers if not k.startswith(DLQ_PREFIX)]


async def read(
    kafka: KafkaSettings, topic: str, keep: Callable[[DeadLetter], bool] = lambda _: True
) -> list[DeadLetter]:
    """Every dead letter in ``topic`` up to its end when called (no consumer group)."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(kafka, topic)]
    async with reader(kafka) as consumer:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        out: list[DeadLetter] = []
        async for r in records(consumer, tps, await consumer.end_offsets(tps)):
            letter = DeadLetter(r.topic, r.partition, r.offset, r.key, r.value, list(r.headers))
            if keep(letter):
                out.append(letter)
        return sorted(out, key=lambda d: (d.partition, d.offset))


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    replayed: list[DeadLetter]
    refused: list[DeadLetter]  # replayed max_replays times already


async def replay(
    kafka: KafkaSettings, letters: Iterable[DeadLetter], max_replays: int
) -> ReplayOutcome:
    """Send each dead letter's original record back to its original topic."""
    replayed: list[DeadLetter] = []
    refused: list[DeadLetter] = []
    publisher = Publisher(kafka)
    await publisher.start()
    try:
        delivered = []
        for letter in letters:
            if letter.replays >= max_replays:
                refused.append(letter)
                continue
            headers = [*letter.original_headers(), (REPLAYS_HEADER, b"%d" % (letter.replays + 1))]
            target = letter.header("dlq.original.topic")
            delivered.append(await publisher.send_raw(target, letter.value, letter.key, headers))
            replayed.append(letter)
        for future in delivered:
            await future
    finally:
        await publisher.stop()
    return ReplayOutcome(replayed, refused)
