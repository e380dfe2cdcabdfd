"""Acknowledgement in offset order per partition (streams.acks)."""

from streams.acks import AckTracker
from streams.records import Inbound


def record(partition: int, offset: int) -> Inbound:
    return Inbound("t", partition, offset, None, b"{}", [], source=(partition, offset))


class Consumer:
    def __init__(self, partitions: int = 1) -> None:
        self.partitions = partitions
        self.acked: list[tuple[int, int]] = []
        self.released: list[tuple[int, int]] = []
        self.notified: list[int] = []
        self.held: set[int] = set()
        self.holds: list[tuple[int, bool]] = []

    def ack(self, message: tuple[int, int]) -> None:
        self.acked.append(message)

    def release(self, message: tuple[int, int]) -> None:
        self.released.append(message)

    def hold(self, partition: int) -> None:
        self.holds.append((partition, True))
        self.held.add(partition)

    def unhold(self, partition: int) -> None:
        self.holds.append((partition, False))
        self.held.discard(partition)

    def tracker(self, backlog: int = 1000, least_share: int = 1) -> AckTracker:
        acks = AckTracker(self.notified.append, backlog, least_share)
        acks.consumer = self
        return acks


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


def test_a_partition_stuck_at_its_head_is_held_at_its_share_and_let_go_at_half() -> None:
    consumer = Consumer(partitions=2)
    acks = consumer.tracker(backlog=40)
    other = [record(1, o) for o in range(5)]
    stuck = [record(0, o) for o in range(25)]
    acks.register(other)
    acks.done(other)
    acks.register(stuck[:19])  # a share of two partitions is 20
    assert acks.share == 20
    acks.done(stuck[1:19])  # handled behind the unfinished head: not acknowledged
    assert consumer.held == set()
    acks.register(stuck[19:20])
    assert (consumer.held, acks.held) == ({0}, 1)
    acks.register(stuck[20:])  # the rest of a window taken before the hold
    acks.done(stuck[19:])
    assert (consumer.held, acks.holding(0)) == ({0}, 25)
    acks.done(stuck[:1])  # the head moves on: all 25 acknowledged
    assert (consumer.held, acks.holding(0), acks.pending, acks.held) == (set(), 0, 0, 0)
    assert consumer.holds == [(0, True), (0, False)]


def test_a_held_partition_is_let_go_only_once_down_to_half_its_share() -> None:
    consumer = Consumer()
    acks = consumer.tracker(backlog=10)
    rs = [record(0, o) for o in range(10)]
    acks.register(rs)
    assert consumer.held == {0}
    acks.done(rs[:4])  # 6 left, share 10: still held
    assert consumer.held == {0}
    acks.done(rs[4:5])  # 5 left
    assert consumer.held == set()


def test_the_backlog_is_shared_by_the_partitions_read_down_to_a_window() -> None:
    consumer = Consumer()
    acks = consumer.tracker(backlog=100, least_share=30)
    assert acks.share == 100
    acks.register([record(p, 0) for p in range(10)])  # more partitions than it was told
    assert acks.share == 30


def test_abandon_lets_held_partitions_go() -> None:
    consumer = Consumer()
    acks = consumer.tracker(backlog=4)
    acks.register([record(0, o) for o in range(4)])
    assert consumer.held == {0}
    assert acks.abandon() == 4
    assert consumer.held == set()
