"""What a handler sees besides its message: the envelope, the key, and ``send``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas import Envelope, Message
from streams.codec import encode
from streams.records import Inbound

if TYPE_CHECKING:
    from streams.publisher import OutBatch


class Context:
    """Per-event context. ``await ctx.send(topic, msg)`` fans out to another mailbox; the
    input is committed only after every record sent this way is acknowledged."""

    __slots__ = ("_out", "agent", "envelope", "record")

    def __init__(self, agent: str, record: Inbound, envelope: Envelope, out: OutBatch) -> None:
        self.agent = agent
        self.record = record
        self.envelope = envelope
        self._out = out

    @property
    def key(self) -> bytes | None:
        return self.record.key

    async def send(self, topic: str, msg: Message, key: bytes | None = None) -> None:
        emit(self._out, self.agent, self.record, topic, msg, key)


class BatchContext:
    """Context of a batch handler: one envelope and record per message, in order."""

    __slots__ = ("_out", "agent", "records")

    def __init__(self, agent: str, records: list[Inbound], out: OutBatch) -> None:
        self.agent = agent
        self.records = records
        self._out = out

    @property
    def envelopes(self) -> list[Envelope]:
        return [r.envelope for r in self.records if r.envelope is not None]

    async def send(
        self, topic: str, msg: Message, key: bytes | None = None, index: int = 0
    ) -> None:
        """Fan out on behalf of message ``index`` of the batch (its causation and fate)."""
        emit(self._out, self.agent, self.records[index], topic, msg, key)


def emit(
    out: OutBatch, agent: str, record: Inbound, topic: str, msg: Message, key: bytes | None
) -> None:
    """Queue ``msg`` as an event caused by ``record``; the record is committed only after
    it is acknowledged."""
    assert record.envelope is not None  # noqa: S101 - set for every record handed over
    headers = record.envelope.successor_headers(msg.message_type, agent)
    record.outputs.append(out.add(topic, encode(msg), key, headers))
