"""The events the throughput, latency, scaling and memory parts send, and how their
input topics are filled."""

from __future__ import annotations

from bench.common import fill
from config import KafkaSettings
from schemas import Envelope, Headers, Message


class Payload(Message):
    message_type = "bench.Payload"
    id: int
    body: str


class Result(Message):
    message_type = "bench.Result"
    id: int
    size: int


def payload_record(i: int, size: int) -> tuple[bytes, bytes, Headers]:
    """Payload ``i`` as a record: key (one of 1,000), a JSON value of about ``size``
    bytes, CloudEvents headers."""
    value = Payload(id=i, body="x" * max(0, size - 40)).model_dump_json().encode()
    return b"%d" % (i % 1000), value, Envelope.new(Payload.message_type, "bench").to_headers()


async def fill_payloads(kafka: KafkaSettings, topic: str, n: int, size: int) -> None:
    """``n`` payloads, produced and acknowledged."""
    await fill(kafka, topic, (payload_record(i, size) for i in range(n)))
