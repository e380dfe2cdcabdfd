"""Settling of output batches (streams.delivery) with a producer that acknowledges on
demand: at most two batches await the broker, cancellation does not stall later ones."""

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.acks import AckTracker
from streams.delivery import SETTLING_BATCHES, Delivery
from streams.metrics import Metrics
from streams.records import Inbound


class Broker:
    """Hands out output batches whose records are acknowledged when ``ack_all`` is called."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.pending: list[asyncio.Future[Any]] = []

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
    spec = SimpleNamespace(name="a", mailbox="m", dead_letter_topic="m.dlq")
    acks = AckTracker(lambda m: acked.append(m), lambda m: None, lambda n: None)
    return Delivery(spec, broker, Metrics(), acks, None, print)  # type: ignore[arg-type]


def handled(d: Delivery, offset: int) -> Inbound:
    record = Inbound("m", 0, offset, None, b"{}", [], source=offset)
    d.acks.register([record])
    record.outputs.append(d.out.add("m.replies", b"%d" % offset, None, []))
    d.finished(record)
    return record


async def test_events_handled_while_batches_settle_join_the_open_batch() -> None:
    broker, acked = Broker(), []
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
    broker, acked = Broker(), []
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
