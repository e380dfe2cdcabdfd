"""Folding the client libraries' repeated log lines, and telling a broker outage's start
and end (streams.logs, streams.lag)."""

import asyncio
import logging
import time
from types import SimpleNamespace

import orjson
import pytest
from aiokafka.errors import KafkaTimeoutError
from aiokafka.structs import TopicPartition as TP
from prometheus_client import CollectorRegistry, Gauge

from streams import lag
from streams.logs import Outage, Repeats

COORDINATOR = "aiokafka.consumer.group_coordinator"
HEARTBEAT = "Heartbeat failed for group %s"


def record(name: str, msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, args, None)


def test_repeats_are_held_back_and_counted_on_the_next_line_shown() -> None:
    repeats = Repeats(every=0.05)
    assert repeats.filter(record(COORDINATOR, HEARTBEAT, "g"))
    assert not any(repeats.filter(record(COORDINATOR, HEARTBEAT, "g")) for _ in range(70))
    time.sleep(0.06)
    later = record(COORDINATOR, HEARTBEAT, "g")
    assert repeats.filter(later)
    assert "[70 more like this in the last 0s]" in later.getMessage()


def test_other_messages_and_our_own_loggers_pass() -> None:
    repeats = Repeats(every=60)
    assert repeats.filter(record("aiokafka.producer", "a"))
    assert repeats.filter(record("aiokafka.producer", "b"))
    assert all(repeats.filter(record("streams.loop", "agent stopped")) for _ in range(3))


def test_an_outage_is_told_once_at_its_start_and_once_at_its_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("the broker")
    with caplog.at_level(logging.INFO, logger="streams.logs"):
        assert outage.answered(1.0) is None  # no outage: nothing to say
        outage.failed(10.0, "KafkaConnectionError()")
        outage.failed(12.0, "no answer for 6 s")
        outage.failed(14.0, "KafkaConnectionError()")
        assert outage.answered(52.5) == 42.5
        assert outage.answered(54.5) is None
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        (
            "WARNING",
            "the broker does not answer (KafkaConnectionError()); it is asked again until it does",
        ),
        ("INFO", "the broker answers again, after 42 s without an answer"),
    ]


def test_a_second_outage_is_told_like_the_first(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("the broker")
    with caplog.at_level(logging.INFO, logger="streams.logs"):
        for start in (0.0, 100.0):
            outage.failed(start, "down")
            outage.answered(start + 20)
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"] * 2


class Consumer:
    """What the lag reporter reads of faust's consumer: an assignment, end offsets (each
    request answered when the test says so) and the committed offsets."""

    def __init__(self, tps: list[TP]) -> None:
        self.tps = tps
        self._committed_offset = dict.fromkeys(tps, 3)
        self.requests: list[asyncio.Future[dict[TP, int]]] = []

    def assignment(self) -> set[TP]:
        return set(self.tps)

    async def highwaters(self, *tps: TP) -> dict[TP, int]:
        self.requests.append(asyncio.get_running_loop().create_future())
        return await self.requests[-1]


async def test_the_lag_reporter_tells_an_outage_and_its_end(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lag, "UNANSWERED", 0.05)
    tp = TP("mailbox", 0)
    consumer = Consumer([tp])
    gauge = Gauge("lag", "lag", ["agent", "topic", "partition"], registry=CollectorRegistry())
    reporter = lag.LagReporter(SimpleNamespace(consumer=consumer), {"mailbox": "a"}, gauge)
    with caplog.at_level(logging.INFO, logger="streams.logs"):
        reporter.tick()
        await asyncio.sleep(0.01)
        consumer.requests[0].set_result({tp: 10})
        await asyncio.sleep(0.01)
        assert gauge.labels("a", "mailbox", "0")._value.get() == 7
        reporter.tick()
        await asyncio.sleep(0.01)
        consumer.requests[1].set_exception(KafkaTimeoutError())  # the broker went away
        await asyncio.sleep(0.01)
        reporter.tick()  # this one hangs
        for _ in range(3):
            await asyncio.sleep(0.03)
            reporter.tick()  # still unanswered: skipped, no second warning
        assert len(consumer.requests) == 3
        consumer.requests[2].set_result({tp: 12})  # back
        await asyncio.sleep(0.01)
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert "KafkaTimeoutError" in caplog.records[0].getMessage()
    assert "answers again" in caplog.records[1].getMessage()
    assert gauge.labels("a", "mailbox", "0")._value.get() == 9


async def test_a_worker_without_partitions_tells_no_end_it_cannot_know(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = Consumer([])
    gauge = Gauge("lag", "lag", ["agent", "topic", "partition"], registry=CollectorRegistry())
    reporter = lag.LagReporter(SimpleNamespace(consumer=consumer), {"mailbox": "a"}, gauge)
    reporter.broker.since = 0.0  # an outage under way
    with caplog.at_level(logging.INFO, logger="streams.logs"):
        reporter.tick()
        await asyncio.sleep(0.01)
    assert consumer.requests == []
    assert caplog.records == []
    assert reporter.broker.since == 0.0


def test_json_lines_name_the_event_being_handled_and_its_trace() -> None:
    from schemas import Envelope
    from streams.logs import JsonFormatter, event_context
    from streams.records import Inbound

    fmt = JsonFormatter()
    envelope = Envelope.new("tests.Hop", "tests")
    envelope.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    rec = Inbound("t", 0, 7, None, b"{}", [], envelope=envelope)
    outside = orjson.loads(fmt.format(record("streams.loop", "hello %s", "you")))
    assert outside["message"] == "hello you"
    assert "agent" not in outside
    with event_context("hop", rec):
        inside = orjson.loads(fmt.format(record("testapp", "working")))
        rec.trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-1111111111111111-01"
    assert (inside["agent"], inside["event_id"]) == ("hop", envelope.id)
    assert (inside["trace_id"], inside["span_id"]) == (
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "00f067aa0ba902b7",  # the incoming span: no span of our own (tracing off)
    )
    with event_context("hop", rec):
        own = orjson.loads(fmt.format(record("testapp", "again")))
    assert own["span_id"] == "1111111111111111"  # the event's own span (tracing on)
    failing = record("testapp", "failed")
    error = ValueError("boom")
    failing.exc_info = (ValueError, error, None)
    assert "ValueError: boom" in orjson.loads(fmt.format(failing))["exception"]
