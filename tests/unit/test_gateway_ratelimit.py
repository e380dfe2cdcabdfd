"""The gateway's per-client token buckets."""

from __future__ import annotations

import pytest

from agents.console.ratelimit import RateLimiter, retry_after


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_passes_then_the_rate_holds() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=2.0, burst=3, clock=clock)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == pytest.approx(0.5)


def test_refill_never_exceeds_the_burst() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=2, clock=clock)
    limiter.take("a")
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_clients_have_buckets_of_their_own() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, clock=Clock())
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_several_keys_spend_all_or_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    assert limiter.take("ip:1", "customer:c") == 0.0
    # The customer is out of tokens: a fresh address does not help, and spends nothing.
    assert limiter.take("ip:2", "customer:c") == pytest.approx(1.0)
    assert limiter.take("ip:2") == 0.0


def test_a_refused_take_spends_nothing() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1, clock=clock)
    limiter.take("a")
    for _ in range(5):
        assert limiter.take("a") > 0
    clock.now += 1.0
    assert limiter.take("a") == 0.0


def test_buckets_are_bounded_least_recent_first() -> None:
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=2, clock=Clock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("c")  # "a" is dropped: it starts over with a full bucket
    assert limiter.take("a") == 0.0
    assert limiter.take("c") > 0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="rate must be > 0"):
        RateLimiter(rate=0, burst=1)
    with pytest.raises(ValueError, match="burst >= 1"):
        RateLimiter(rate=1, burst=0)


@pytest.mark.parametrize(("wait", "header"), [(0.01, "1"), (1.0, "1"), (1.2, "2"), (30.0, "30")])
def test_retry_after_is_whole_seconds_rounded_up(wait: float, header: str) -> None:
    assert retry_after(wait) == header
