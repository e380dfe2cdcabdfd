"""The runtime's view of one consumed record, independent of faust's event classes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemas import Envelope, Headers

if TYPE_CHECKING:
    from streams.acks import PartitionQueue


@dataclass(slots=True, eq=False)
class Inbound:
    """A record as it came off the topic, plus what the runtime learns while handling it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Headers
    source: Any = None  # what the consumer needs to acknowledge it (a faust Event)
    envelope: Envelope | None = None
    attempts: int = 0
    outputs: list[Any] = field(default_factory=list)  # delivery futures of what it produced
    letter: Any = None  # delivery future of its dead letter, if it became one
    claimed: bool = False  # an idempotent agent claimed its ce_id in Redis
    queued: bool = False  # its claim is queued: it is marked started before the handler runs
    handled: bool = False  # its handling ended (exactly-once: its transaction may start)
    done: bool = False  # handled, and everything it produced is durable
    track: PartitionQueue | None = None  # its partition's unacknowledged records
    trace: str | None = None  # traceparent for what it produces (its span, when tracing)
