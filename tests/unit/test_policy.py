import pytest

from streams.errors import (
    DecodeError,
    HandlerTimeout,
    ProduceError,
    RetriableError,
    is_retriable,
    stage_of,
)
from streams.policy import Batch, Retry


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    r = Retry(attempts=5, backoff=0.1, max_backoff=0.3)
    assert 0.05 <= r.delay(1) <= 0.1
    assert 0.1 <= r.delay(2) <= 0.2
    assert 0.15 <= r.delay(5) <= 0.3


@pytest.mark.parametrize("kwargs", [{"attempts": 0}, {"backoff": -1}])
def test_retry_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="Retry"):
        Retry(**kwargs)  # type: ignore[arg-type]


def test_batch_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="Batch"):
        Batch(max_size=0)


@pytest.mark.parametrize(
    ("exc", "retriable", "stage"),
    [
        (DecodeError("x"), False, "decode"),
        (RetriableError("x"), True, "handle"),
        (HandlerTimeout("x"), True, "timeout"),
        (ProduceError("x"), True, "produce"),
        (TimeoutError(), True, "handle"),
        (ConnectionResetError(), True, "handle"),
        (ValueError(), False, "handle"),
    ],
)
def test_errors_are_classed_by_type(exc: BaseException, retriable: bool, stage: str) -> None:
    assert is_retriable(exc) is retriable
    assert stage_of(exc) == stage


def test_worst_case_counts_every_attempt_and_the_longest_backoffs() -> None:
    r = Retry(attempts=3, backoff=1.0, max_backoff=1.5, outage=0)
    assert r.worst_case(timeout=10) == 3 * 10 + 1.0 + 1.5
    assert Retry(attempts=1, outage=0).worst_case(timeout=7) == 7


def test_worst_case_of_an_outage_is_its_length_plus_one_more_backoff_and_attempt() -> None:
    r = Retry(attempts=2, backoff=0.1, max_backoff=2, outage=60)
    assert r.worst_case(timeout=10) == 60 + 2 + 10


def test_transient_errors_of_dependencies_are_retriable() -> None:
    import redis.exceptions
    from aiokafka.errors import KafkaConnectionError, UnsupportedVersionError

    assert is_retriable(redis.exceptions.ConnectionError("closed by server"))
    assert is_retriable(redis.exceptions.TimeoutError())
    assert is_retriable(KafkaConnectionError())
    assert not is_retriable(UnsupportedVersionError())
    assert not is_retriable(redis.exceptions.ResponseError("WRONGTYPE"))
