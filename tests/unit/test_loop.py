"""The agent loop's ordering of acknowledgements while windows settle in the background.

The processor and the consumer stand in for faust and Kafka here: what is tested is the
loop's own bookkeeping (window order, failure stops acknowledging, drain waits)."""

import asyncio
from dataclasses import dataclass, field
from types import SimpleNamespace

from streams.loop import AgentLoop
from streams.metrics import Metrics
from streams.policy import Batch
from streams.records import Inbound


@dataclass
class Record:
    offset: int
    topic: str = "t"
    partition: int = 0
    key: bytes | None = None
    value: bytes | None = b"{}"
    headers: list[tuple[str, bytes]] = field(default_factory=list)


class Run:
    def __init__(self, delay: float, error: Exception | None) -> None:
        self.delay, self.error = delay, error

    async def settle(self) -> None:
        await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error


class Processor:
    """Settles window n after ``delays[n]`` seconds; window ``fail_at`` fails to settle."""

    def __init__(self, delays: list[float], fail_at: int | None = None) -> None:
        self.spec = SimpleNamespace(name="a", mailbox="m", batch=Batch(max_size=2, within=1))
        self.delays, self.fail_at = delays, fail_at
        self.windows: list[list[int]] = []

    async def handle(self, records: list[Inbound]) -> Run:
        n = len(self.windows)
        self.windows.append([r.offset for r in records])
        error = RuntimeError(f"window {n} failed") if n == self.fail_at else None
        return Run(self.delays[n], error)


class Consumer:
    def __init__(self, expected: int, done: asyncio.Event) -> None:
        self.acked: list[int] = []
        self.expected, self.done = expected, done

    def ack(self, message: Record) -> None:
        self.acked.append(message.offset)
        if len(self.acked) == self.expected:
            self.done.set()


async def run_loop(processor: Processor, events: int) -> tuple[Consumer, list[BaseException]]:
    source: asyncio.Queue[Record] = asyncio.Queue()
    for offset in range(events):
        source.put_nowait(Record(offset))
    done = asyncio.Event()
    consumer, fatal = Consumer(events, done), []

    def on_fatal(exc: BaseException) -> None:
        fatal.append(exc)
        done.set()

    loop = AgentLoop(processor, Metrics(), on_fatal)  # type: ignore[arg-type]
    task = asyncio.create_task(loop.run(source, SimpleNamespace(consumer=consumer)))
    await asyncio.wait_for(done.wait(), 5)
    await loop.drain()
    await task
    return consumer, fatal


async def test_windows_are_acknowledged_in_order_when_a_later_one_settles_first() -> None:
    processor = Processor(delays=[0.05, 0.0, 0.03, 0.0, 0.0])
    consumer, fatal = await run_loop(processor, events=10)
    assert fatal == []
    assert processor.windows == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9]]
    assert consumer.acked == list(range(10))


async def test_a_window_that_fails_to_settle_stops_all_later_acknowledgements() -> None:
    processor = Processor(delays=[0.0, 0.05, 0.0, 0.0, 0.0], fail_at=1)
    consumer, fatal = await run_loop(processor, events=10)
    assert consumer.acked == [0, 1]
    assert len(fatal) == 1
    assert "window 1 failed" in str(fatal[0])
