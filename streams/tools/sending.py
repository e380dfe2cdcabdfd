"""Sending JSON lines as events: one key for all or one per line from a field, a rate
limit, every acknowledgement awaited, and a count of what was sent, failed and refused."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, Any

from config import KafkaSettings
from schemas import Envelope
from streams.publisher import Publisher
from streams.tools.jsonlines import BadLine, Line, parse_line

#: ``ce_source`` of what the command line sends.
SOURCE = "agentstream.cli"
#: Lines read from stdin ahead of the producer, at most.
STDIN_BUFFER = 1000


@dataclass(frozen=True, slots=True)
class Sending:
    """What becomes of the lines: events of ``ce_type`` to ``mailbox``, keyed by ``key``
    or by the value of each line's ``key_field``, at most ``rate`` a second."""

    mailbox: str
    ce_type: str
    key: bytes | None = None
    key_field: str | None = None
    rate: float | None = None
    source: str = SOURCE

    def parse(self, number: int, text: str) -> Line | BadLine | None:
        return parse_line(number, text, self.key_field, self.key)


@dataclass(frozen=True, slots=True)
class Feedback:
    """Told of each line done (sent, failed or bad) and of each problem."""

    advance: Callable[[], None] = lambda: None
    report: Callable[[str], None] = lambda _: None


@dataclass(slots=True)
class Summary:
    sent: int = 0
    failed: int = 0
    bad_lines: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        rate = self.sent / self.seconds if self.seconds else 0.0
        return (
            f"sent {self.sent}, failed {self.failed}, bad lines {self.bad_lines} (skipped), "
            f"{self.seconds:.2f} s ({rate:.0f} msg/s)"
        )


async def file_lines(source: IO[str]) -> AsyncIterator[str]:
    for text in source:
        yield text


async def stdin_lines(source: IO[str]) -> AsyncIterator[str]:
    """The lines of a pipe or terminal, read by a daemon thread: the producer goes on
    sending while the pipe waits for its next line, and an interrupt is not held up by
    a read that never returns."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str] = asyncio.Queue(maxsize=STDIN_BUFFER)

    def put(text: str) -> None:
        asyncio.run_coroutine_threadsafe(queue.put(text), loop).result()

    def pump() -> None:
        try:
            for text in iter(source.readline, ""):
                put(text)
        except RuntimeError:  # the loop closed: the command is over
            return
        finally:
            with contextlib.suppress(RuntimeError):
                put("")  # the end, however the reading ended

    threading.Thread(target=pump, name="stdin", daemon=True).start()
    while text := await queue.get():
        yield text


async def send_lines(
    kafka: KafkaSettings,
    sending: Sending,
    texts: AsyncIterator[str],
    feedback: Feedback | None = None,
) -> Summary:
    """Send each good line as an event (fresh CloudEvents headers), at most
    ``sending.rate`` a second; wait for every acknowledgement."""
    told = feedback or Feedback()
    summary = Summary()
    publisher = Publisher(kafka)
    await publisher.start()
    started = time.monotonic()
    pending: set[asyncio.Future[Any]] = set()
    pacer = Pacer(sending.rate)
    try:
        # A missing topic fails here, before a line is read; and the first message does
        # not wait for the topic's metadata while the rate's clock runs.
        await publisher.partition_count(sending.mailbox)
        number = 0
        async for text in texts:
            number += 1
            parsed = sending.parse(number, text)
            if isinstance(parsed, BadLine):
                summary.bad_lines += 1
                told.report(f"line {parsed.number}: {parsed.reason}")
                told.advance()
            elif parsed is not None:
                await pacer.wait()
                headers = Envelope.new(sending.ce_type, sending.source).to_headers()
                future = await publisher.send_raw(
                    sending.mailbox, parsed.value, parsed.key, headers
                )
                pending.add(future)
                future.add_done_callback(_acknowledged(parsed, summary, pending, told))
        if pending:
            await asyncio.wait(pending)
    finally:
        await publisher.stop()
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _acknowledged(
    line: Line, summary: Summary, pending: set[asyncio.Future[Any]], told: Feedback
) -> Callable[[asyncio.Future[Any]], None]:
    def done(future: asyncio.Future[Any]) -> None:
        pending.discard(future)
        error = None if future.cancelled() else future.exception()
        if future.cancelled() or error is not None:
            summary.failed += 1
            told.report(f"line {line.number}: not sent: {error!r}")
        else:
            summary.sent += 1
        told.advance()

    return done


class Pacer:
    """Lets ``wait`` return at most ``rate`` times a second, counted from the first call
    (so the first message's topic lookup does not turn into a burst); no limit for None."""

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self.first: float | None = None
        self.count = 0

    async def wait(self) -> None:
        if self.rate is None:
            return
        now = time.monotonic()
        if self.first is None:
            self.first = now
        delay = self.first + self.count / self.rate - now
        self.count += 1
        if delay > 0:
            await asyncio.sleep(delay)
