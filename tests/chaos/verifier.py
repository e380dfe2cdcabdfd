"""The chaos verifier: seeds uniquely identified events, reads every result and dead-letter
topic to the end, and says what became of each event.

Each event has a unique id, a key (many ids per key, so ordering per key means something)
and its sequence number within the key; the id also travels in the ``chaos-id`` header, so
even a value that is not JSON is recognised in a dead-letter topic.

* lost: sent, and neither a result nor a dead letter;
* duplicates: outcomes (results and dead letters) beyond one per id;
* out of order: a key's event whose first result came after the result of a later event
  of the same key (a replay after a crash rewinds a key: those are duplicates, not
  reordering).
"""

from __future__ import annotations

import collections
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from config import Settings
from schemas import Envelope, Headers
from streams.codec import encode
from streams.connection import client_kwargs
from tests.chaos.chaosapp import Job
from tests.integration.workers import ROOT

ID_HEADER = "chaos-id"
REPORTS = ROOT / ".agentstream" / "chaos"


@dataclass(frozen=True)
class Record:
    """One record to send: its topic, key, value and headers, and the id it carries."""

    topic: str
    id: str
    key: bytes | None
    value: bytes | None
    headers: Headers


def job(mailbox: str, i: int, key: str, seq: int, **fields: Any) -> Record:
    """Event number ``i`` of a scenario: a fresh id, its key and its place in the key."""
    event_id = f"{i:07d}-{uuid.uuid4().hex[:12]}"
    msg = Job(id=event_id, key=key, seq=seq, **fields)
    headers = Envelope.new(Job.message_type, "chaos").to_headers()
    return Record(mailbox, event_id, key.encode(), encode(msg), [*headers, tag(event_id)])


def jobs(mailbox: str, n: int, keys: int = 240, fail_every: int = 0, **fields: Any) -> list[Record]:
    """``n`` events, event ``i`` on key ``i % keys`` with sequence ``i // keys``; every
    ``fail_every``-th one fails in the handler."""
    return [
        job(mailbox, i, f"k{i % keys}", i // keys,
            fail=bool(fail_every) and i % fail_every == fail_every - 1, **fields)
        for i in range(n)
    ]  # fmt: skip


def tag(event_id: str) -> tuple[str, bytes]:
    return (ID_HEADER, event_id.encode())


@dataclass
class DeadLetter:
    stage: str
    attempts: int
    error: str


@dataclass
class Tally:
    """Outcomes read so far from the reply and dead-letter topics of some mailboxes."""

    results: collections.Counter[str] = field(default_factory=collections.Counter)
    dead: dict[str, list[DeadLetter]] = field(default_factory=dict)
    first_result_ms: dict[str, int] = field(default_factory=dict)  # result's timestamp
    workers: set[int] = field(default_factory=set)
    _order: dict[tuple[str, str], list[int]] = field(default_factory=dict)  # seqs as they came

    def add(self, record: ConsumerRecord) -> None:
        if record.topic.endswith(".dlq"):
            headers = {k: v.decode(errors="replace") for k, v in record.headers}
            letter = DeadLetter(
                headers.get("dlq.stage", "?"),
                int(headers.get("dlq.attempts", "-1")),
                headers.get("dlq.error.class", "?"),
            )
            self.dead.setdefault(headers.get(ID_HEADER, "?"), []).append(letter)
            return
        body = orjson.loads(record.value)
        self.results[body["id"]] += 1
        self.first_result_ms.setdefault(body["id"], record.timestamp)
        self.workers.add(body["worker"])
        self._order.setdefault((record.topic, body["key"]), []).append(body["seq"])

    def outcomes(self) -> set[str]:
        return set(self.results) | set(self.dead)

    def out_of_order(self, mailboxes: list[str]) -> int:
        """First results of a key that came after a later sequence number of that key."""
        topics = {f"{m}.replies" for m in mailboxes}
        count = 0
        for (topic, _), seqs in self._order.items():
            if topic not in topics:
                continue
            seen: set[int] = set()
            highest = -1
            for seq in seqs:
                if seq not in seen and seq < highest:
                    count += 1
                seen.add(seq)
                highest = max(highest, seq)
        return count


class Reader:
    """Tails ``<mailbox>.replies`` and ``<mailbox>.dlq`` of the given mailboxes."""

    def __init__(self, settings: Settings, mailboxes: list[str]) -> None:
        self.topics = [f"{m}.{suffix}" for m in mailboxes for suffix in ("replies", "dlq")]
        self.consumer = AIOKafkaConsumer(
            *self.topics,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            isolation_level="read_committed",  # what exactly-once apps' readers do
            **client_kwargs(settings.kafka),
        )
        self.tally = Tally()

    async def start(self) -> None:
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    async def poll(self, timeout_ms: int = 200) -> int:
        """Read what is there; the number of ids with an outcome."""
        batches = await self.consumer.getmany(timeout_ms=timeout_ms)
        for records in batches.values():
            for record in records:
                self.tally.add(record)
        return len(self.tally.outcomes())

    async def to_end(self, limit: float = 60.0) -> None:
        """Read every partition up to its end offset as of now."""
        partitions = [
            TopicPartition(t, p)
            for t in self.topics
            for p in self.consumer.partitions_for_topic(t) or ()
        ]
        ends = await self.consumer.end_offsets(partitions)
        deadline = time.monotonic() + limit
        while await self._behind(ends):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read the outcome topics to their end in {limit}s")
            await self.poll()

    async def _behind(self, ends: dict[TopicPartition, int]) -> bool:
        for tp, end in ends.items():
            if tp not in self.consumer.assignment() or await self.consumer.position(tp) < end:
                return True
        return False


@dataclass
class Verdict:
    """What became of one scenario's events; the tests assert on it."""

    scenario: str
    profile: str
    sent: int
    results: int
    dead_letters: int
    lost: int
    duplicates: int
    out_of_order: int
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)
    lost_ids: list[str] = field(default_factory=list)  # the first few, for the failure message

    def row(self) -> str:
        extra = ", ".join(f"{k} {v}" for k, v in self.extra.items())
        cells = [self.scenario, f"{self.sent:,}", f"{self.results:,}", f"{self.dead_letters:,}",
                 f"{self.lost:,}", f"{self.duplicates:,}", f"{self.out_of_order:,}", extra,
                 f"{self.seconds:.0f}"]  # fmt: skip
        return "| " + " | ".join(cells) + " |"

    def write(self, directory: Path = REPORTS) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.scenario}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


HEADER = (
    "| scenario | sent | results | dead letters | lost | duplicates | out of order per key "
    "| more | s |\n|---|---|---|---|---|---|---|---|---|"
)


def table(verdicts: list[Verdict]) -> str:
    return "\n".join([HEADER, *(v.row() for v in verdicts)])


def judge(
    scenario: str,
    profile: str,
    mailboxes: list[str],
    sent: list[str],
    tally: Tally,
    seconds: float,
    extra: dict[str, Any] | None = None,
) -> Verdict:
    """The verdict on ``sent`` ids of ``mailboxes`` given the outcomes in ``tally``."""
    ids = set(sent)
    lost = sorted(ids - tally.outcomes())
    results = sum(n for i, n in tally.results.items() if i in ids)
    dead = sum(len(d) for i, d in tally.dead.items() if i in ids)
    return Verdict(
        scenario=scenario,
        profile=profile,
        sent=len(ids),
        results=results,
        dead_letters=dead,
        lost=len(lost),
        duplicates=results + dead - len(ids & tally.outcomes()),
        out_of_order=tally.out_of_order(mailboxes),
        seconds=seconds,
        extra=dict(extra or {}),
        lost_ids=lost[:20],
    )
