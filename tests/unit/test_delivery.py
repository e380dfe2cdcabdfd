"""Settling of output batches (streams.delivery) with a producer that acknowledges on
demand: at most two batches await the broker, cancellation does not stall later ones."""

import asyncio
from types import SimpleNamespace
from typing import Any

from schemas import Envelope
from streams.acks import AckTracker
from streams.delivery import SETTLING_BATCHES, Delivery
from streams.errors import UnknownTopic
from streams.metrics import Metrics
from streams.records import Inbound


class Broker:
    """Hands out output batches whose records are acknowledged when ``ack_all`` is called."""

    def __init__(self, deleted: frozenset[str] = frozenset()) -> None:
        self.batches: list[Batch] = []
        self.pending: list[asyncio.Future[Any]] = []
        self.gone = deleted
        self.sent: list[tuple[str, bytes | None]] = []  # (topic, value) of send_raw

    async def send_raw(self, topic: str, value: bytes | None, key: Any, headers: Any) -> Any:
        self.sent.append((topic, value))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    def deleted(self, topic: str) -> bool:
        return topic in self.gone

    def batch(self) -> "Batch":
        return Batch(self)

    def ack_all(self) -> None:
        for future in self.pending:
            if not future.done():
                future.set_result(None)
        self.pending.clear()


class Batch:
    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.records: list[bytes] = []

    def add(self, topic: str, value: bytes, key: bytes | None, headers: Any) -> Any:
        future = asyncio.get_running_loop().create_future()
        self.records.append(value)
        self.broker.pending.append(future)
        return future

    async def flush(self) -> None:
        self.broker.batches.append(self)


def delivery(broker: Broker, acked: list[int]) -> Delivery:
    spec = SimpleNamespace(
        name="a", mailbox="m", dead_letter_topic="m.dlq", reply_topic="m.replies", redact=None
    )
    acks = AckTracker(lambda n: None, 1000, 10)
    acks.consumer = SimpleNamespace(ack=acked.append, partitions=1)
    return Delivery(spec, broker, Metrics(), acks, None, print)  # type: ignore[arg-type]


def handled(d: Delivery, offset: int) -> Inbound:
    record = Inbound("m", 0, offset, None, b"{}", [], source=offset)
    d.acks.register([record])
    record.outputs.append(d.out.add("m.replies", b"%d" % offset, None, []))
    d.finished(record)
    return record


async def test_events_handled_while_batches_settle_join_the_open_batch() -> None:
    broker, acked = Broker(), list[int]()
    d = delivery(broker, acked)
    for offset in range(SETTLING_BATCHES):
        handled(d, offset)
        await asyncio.sleep(0.01)
    assert len(broker.batches) == SETTLING_BATCHES
    for offset in range(SETTLING_BATCHES, 10):  # both in flight: these wait in the open batch
        handled(d, offset)
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)
    assert len(broker.batches) == SETTLING_BATCHES
    broker.ack_all()
    await asyncio.sleep(0.01)
    assert len(broker.batches) == SETTLING_BATCHES + 1
    assert len(broker.batches[-1].records) == 10 - SETTLING_BATCHES
    broker.ack_all()
    await d.wait_idle()
    assert acked == list(range(10))


async def test_batches_after_a_cancellation_still_go_out() -> None:
    broker, acked = Broker(), list[int]()
    d = delivery(broker, acked)
    handled(d, 0)
    await asyncio.sleep(0)  # scheduled, the settle task created but not started
    d.cancel()
    await asyncio.sleep(0.01)
    handled(d, 1)
    await asyncio.sleep(0.01)
    broker.ack_all()
    await asyncio.wait_for(d.wait_idle(), 1)
    assert broker.batches[-1].records == [b"1"]


async def late_reply(broker: Broker) -> list[int]:
    """A request whose reply is not acknowledged because its reply topic vanished."""
    acked: list[int] = []
    d = delivery(broker, acked)
    record = Inbound("m", 0, 0, None, b"{}", [], source=0)
    record.envelope = Envelope.new("t", "tests", replyto="r.1", correlationid="c")
    d.acks.register([record])
    record.outputs.append(d.out.add("r.1", b"late", None, []))
    d.finished(record)
    await asyncio.sleep(0.01)
    broker.pending.pop().set_exception(UnknownTopic("topic 'r.1' does not exist"))
    await asyncio.wait_for(d.wait_idle(), 1)
    await asyncio.sleep(0.01)  # the Failed reply, if any, goes out after the dead letter
    return acked


async def test_a_request_whose_reply_topic_is_deleted_gets_no_failed_reply() -> None:
    broker = Broker(deleted=frozenset({"r.1"}))
    assert await late_reply(broker) == [0]
    assert [topic for topic, _ in broker.sent] == ["m.dlq"]


async def test_a_request_whose_reply_failed_otherwise_is_told_so() -> None:
    broker = Broker()
    assert await late_reply(broker) == [0]
    assert [topic for topic, _ in broker.sent] == ["m.dlq", "r.1"]
    assert b"agent" in (broker.sent[1][1] or b"")
