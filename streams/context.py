"""What a handler sees besides its message: the envelope, the key, and ``send``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas import Envelope, Message
from streams.codec import encode
from streams.records import Inbound

if TYPE_CHECKING:
    from streams.publisher import OutBatch, Record

#: A record sent by a handler: the input it is on behalf of, and the encoded record.
Sent = tuple[Inbound, "Record"]


class Context:
    """Per-event context. ``await ctx.send(topic, msg)`` fans out to another mailbox. What
    an attempt sends is published only if the attempt succeeds, and the input is
    committed only after every such record is acknowledged."""

    __slots__ = ("agent", "envelope", "record", "sent")

    def __init__(self, agent: str, record: Inbound, envelope: Envelope) -> None:
        self.agent = agent
        self.record = record
        self.envelope = envelope
        self.sent: list[Sent] | None = None  # most handlers send nothing

    @property
    def key(self) -> bytes | None:
        return self.record.key

    async def send(self, topic: str, msg: Message, key: bytes | None = None) -> None:
        if self.sent is None:
            self.sent = []
        self.sent.append((self.record, successor(self.agent, self.record, topic, msg, key)))


class BatchContext:
    """Context of a batch handler: one envelope and record per message, in order."""

    __slots__ = ("agent", "records", "sent")

    def __init__(self, agent: str, records: list[Inbound]) -> None:
        self.agent = agent
        self.records = records
        self.sent: list[Sent] = []

    @property
    def envelopes(self) -> list[Envelope]:
        return [r.envelope for r in self.records if r.envelope is not None]

    async def send(
        self, topic: str, msg: Message, key: bytes | None = None, index: int = 0
    ) -> None:
        """Fan out on behalf of message ``index`` of the batch (its causation and fate)."""
        record = self.records[index]
        self.sent.append((record, successor(self.agent, record, topic, msg, key)))


def successor(agent: str, record: Inbound, topic: str, msg: Message, key: bytes | None) -> Record:
    """``msg`` encoded as an event caused by ``record``, ready for an output batch."""
    assert record.envelope is not None  # noqa: S101 - set for every record handed over
    headers = record.envelope.successor_headers(msg.message_type, agent)
    return topic, encode(msg), key, headers


def publish(out: OutBatch, sent: list[Sent]) -> None:
    """Add what an attempt sent to ``out``; each input is committed only after its
    records are acknowledged."""
    for record, (topic, value, key, headers) in sent:
        record.outputs.append(out.add(topic, value, key, headers))
