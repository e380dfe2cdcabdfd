"""Folding the client libraries' repeated log lines (streams.logs)."""

import logging
import time

from streams.logs import Repeats

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
