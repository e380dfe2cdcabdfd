"""Acknowledgement in offset order per partition (streams.acks)."""

from streams.acks import AckTracker
from streams.records import Inbound


def record(partition: int, offset: int) -> Inbound:
    return Inbound("t", partition, offset, None, b"{}", [], source=(partition, offset))


class Consumer:
    def __init__(self) -> None:
        self.acked: list[tuple[int, int]] = []
        self.released: list[tuple[int, int]] = []
        self.notified: list[int] = []

    def tracker(self) -> AckTracker:
        return AckTracker(self.acked.append, self.released.append, self.notified.append)


def test_a_record_is_acknowledged_only_after_every_earlier_one_of_its_partition() -> None:
    consumer = Consumer()
    acks = consumer.tracker()
    p0 = [record(0, o) for o in range(4)]
    p1 = [record(1, o) for o in range(2)]
    acks.register([p0[0], p1[0], p0[1], p1[1], p0[2], p0[3]])
    assert acks.pending == 6
    acks.done([p0[2], p0[3], p1[1]])  # finished first, but not at their partition's head
    assert consumer.acked == []
    acks.done([p0[0]])
    assert consumer.acked == [(0, 0)]
    acks.done([p1[0]])
    assert consumer.acked == [(0, 0), (1, 0), (1, 1)]
    acks.done([p0[1]])
    assert consumer.acked == [(0, 0), (1, 0), (1, 1), (0, 1), (0, 2), (0, 3)]
    assert acks.pending == 0


def test_abandon_releases_what_is_left_and_late_completions_ack_nothing() -> None:
    consumer = Consumer()
    acks = consumer.tracker()
    rs = [record(0, o) for o in range(3)]
    acks.register(rs)
    acks.done([rs[0]])
    assert acks.abandon() == 2
    assert consumer.released == [(0, 1), (0, 2)]
    assert acks.pending == 0
    acks.done([rs[1], rs[2]])  # their handling finished after the rebalance
    assert consumer.acked == [(0, 0)]
    fresh = [record(0, 1)]  # fetched again in the new generation
    acks.register(fresh)
    acks.done(fresh)
    assert consumer.acked == [(0, 0), (0, 1)]
