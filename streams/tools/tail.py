"""Reading a topic for a person or a script, outside any consumer group: where to start
(the beginning, the end, the last N, a point in time), records as plain JSON-ready
dicts, and the read itself. Nothing joins a group and nothing is committed."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from config import KafkaSettings
from streams.connection import partitions_of, reader
from streams.errors import OperationFailed
from streams.reading import records

UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A moment given as a duration back from ``now`` (``90s``, ``15m``, ``1h30m``,
    ``2d``) or as an ISO 8601 time (``2025-05-01T12:00:00Z``; without a zone it is local
    time). ``ValueError`` for anything else or a moment in the future."""
    now = now or datetime.now(UTC)
    spec = text.strip().replace(" ", "")
    parts = DURATION.findall(spec)
    if parts and "".join(n + u for n, u in parts) == spec:
        return now - timedelta(seconds=sum(float(n) * UNITS[u] for n, u in parts))
    try:
        moment = datetime.fromisoformat(spec)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither a duration (90s, 15m, 1h30m, 2d) nor an ISO 8601 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # a person's wall-clock time
    if moment > now:
        raise ValueError(f"{text!r} is in the future")
    return moment


@dataclass(frozen=True, slots=True)
class Start:
    """Where each partition is read from."""

    kind: Literal["beginning", "end", "last", "since"]
    last: int = 0  # records per partition, for "last"
    since: datetime | None = None  # for "since"


async def positions(
    consumer: AIOKafkaConsumer, tps: list[TopicPartition], start: Start
) -> tuple[dict[TopicPartition, int], dict[TopicPartition, int]]:
    """(first offset to read, end offset now) of each partition."""
    ends = await consumer.end_offsets(tps)  # before the time search: nothing in between
    begins = await consumer.beginning_offsets(tps)
    if start.kind == "beginning":
        return dict(begins), dict(ends)
    if start.kind == "last":
        return {tp: max(begins[tp], ends[tp] - start.last) for tp in tps}, dict(ends)
    if start.kind == "since" and start.since is not None:
        ms = int(start.since.timestamp() * 1000)
        found = await consumer.offsets_for_times({tp: ms for tp in tps})
        firsts = {tp: ends[tp] if found.get(tp) is None else found[tp].offset for tp in tps}
        return firsts, dict(ends)
    return dict(ends), dict(ends)


def record_dict(record: ConsumerRecord) -> dict[str, Any]:
    """A record for JSON: the key and the header values as text, the value as JSON when
    it parses and as text otherwise; a header sent more than once gets a list."""
    headers: dict[str, Any] = {}
    for name, raw in record.headers or ():
        text = _text(raw)
        seen = headers.get(name)
        if seen is None:
            headers[name] = text
        else:
            headers[name] = [*seen, text] if isinstance(seen, list) else [seen, text]
    stamp = record.timestamp
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": None if stamp is None or stamp < 0 else _iso(stamp),
        "timestamp_ms": stamp,
        "key": None if record.key is None else _text(record.key),
        "headers": headers,
        "value": _value(record.value),
    }


def _text(raw: bytes | None) -> str:
    return (raw or b"").decode(errors="backslashreplace")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _value(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _text(raw)


@dataclass(frozen=True, slots=True)
class Tail:
    """What to read of a topic."""

    topic: str
    start: Start
    follow: bool = False
    limit: int | None = None  # records in all, at most
    partitions: tuple[int, ...] = ()  # all when empty
    read_committed: bool | None = None  # None: the settings' isolation level


async def tail(
    kafka: KafkaSettings,
    what: Tail,
    emit: Callable[[ConsumerRecord], None],
    expect: Callable[[int], None] = lambda _: None,
) -> int:
    """Hand each record to ``emit``: up to the end offsets found at start, or on and on
    with ``follow``; at most ``limit``. ``expect`` is told how many records there are to
    read (without ``follow``). Returns the number of records read."""
    tps = await _assignable(kafka, what)
    count = 0
    async with reader(kafka, read_committed=what.read_committed) as consumer:
        consumer.assign(tps)
        firsts, ends = await positions(consumer, tps, what.start)
        for tp, offset in firsts.items():
            consumer.seek(tp, offset)
        if not what.follow:
            expect(sum(max(0, ends[tp] - firsts[tp]) for tp in tps))
        stream = records(consumer, tps, None if what.follow else ends)
        async with contextlib.aclosing(stream):
            async for record in stream:
                emit(record)
                count += 1
                if what.limit is not None and count >= what.limit:
                    break
    return count


async def _assignable(kafka: KafkaSettings, what: Tail) -> list[TopicPartition]:
    present = await partitions_of(kafka, what.topic)
    missing = sorted(set(what.partitions) - set(present))
    if missing:
        raise OperationFailed(
            f"topic {what.topic!r} has no partition {', '.join(map(str, missing))} "
            f"(it has {len(present)})"
        )
    return [TopicPartition(what.topic, p) for p in what.partitions or present]
