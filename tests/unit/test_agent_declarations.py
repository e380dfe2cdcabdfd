"""What an agent declaration may look like, and the errors that say what is wrong."""

import pytest

from schemas import Message
from streams import App, BatchContext, ConfigurationError, Context, handler
from streams.agent import routes_of


class A(Message):
    x: int


class B(Message):
    y: int


async def single(msg: A, ctx: Context) -> None:
    return None


async def either(msg: A | B, ctx: Context) -> None:
    return None


async def batch(msgs: list[A | B], ctx: BatchContext) -> list[None]:
    return [None] * len(msgs)


class Routed:
    @handler
    async def on_a(self, msg: A, ctx: Context) -> None:
        return None

    @handler
    async def on_b(self, msg: B, ctx: Context) -> None:
        return None

    async def helper(self, msg: A, ctx: Context) -> None:  # not a handler
        return None


def test_shapes_route_by_message_type() -> None:
    assert set(routes_of(single)[0]) == {A.message_type}
    assert set(routes_of(either)[0]) == {A.message_type, B.message_type}
    routes, batch_fn = routes_of(batch)
    assert (set(routes), batch_fn) == ({A.message_type, B.message_type}, batch)
    routes, batch_fn = routes_of(Routed)
    assert batch_fn is None
    assert {t: r.fn.__name__ for t, r in routes.items()} == {
        A.message_type: "on_a",
        B.message_type: "on_b",
    }


def sync_fn(msg: A, ctx: Context) -> None:
    return None


async def one_param(msg: A) -> None:
    return None


async def unannotated(msg, ctx: Context) -> None:  # type: ignore[no-untyped-def]
    return None


async def not_a_message(msg: int, ctx: Context) -> None:
    return None


class NoHandlers:
    async def on_a(self, msg: A, ctx: Context) -> None:
        return None


@pytest.mark.parametrize(
    ("target", "says"),
    [
        (sync_fn, "must be an async def"),
        (one_param, r"must take \(message, ctx\)"),
        (unannotated, "annotate msg"),
        (not_a_message, "not a schemas.Message subclass"),
        (NoHandlers, "has no @handler methods"),
    ],
)
def test_wrong_declarations_say_what_is_wrong(target: object, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        routes_of(target)


def test_a_policy_whose_worst_case_outlasts_the_rebalance_timeout_is_refused() -> None:
    from config import KafkaSettings, Settings
    from streams import App, Retry

    settings = Settings(kafka=KafkaSettings(rebalance_timeout=60))
    app = App("declarations", settings)
    with pytest.raises(ConfigurationError, match=r"up to 91\.5s .* rebalance timeout of 60"):
        app.agent("m", timeout=30, retry=Retry(attempts=3, backoff=0.5, max_backoff=1, outage=0))(
            single
        )
    short = Retry(attempts=3, backoff=0.5, max_backoff=1, outage=30)
    app.agent("m", timeout=19, retry=short)(single)
    assert [s.name for s in app.specs] == ["single"]


def test_revocation_budget_must_be_shorter_than_the_rebalance_timeout() -> None:
    from pydantic import ValidationError

    from config import KafkaSettings, Limits, Settings

    with pytest.raises(ValidationError, match="revoke_timeout"):
        Settings(kafka=KafkaSettings(rebalance_timeout=10), limits=Limits(revoke_timeout=10))


async def test_readiness_before_the_consumer_thread_started_says_not_ready() -> None:
    """/readyz may be asked while faust is still starting its consumer thread."""
    from types import SimpleNamespace

    from faust.exceptions import ConsumerNotStarted

    def not_started() -> set[object]:
        raise ConsumerNotStarted("Consumer thread not yet started")

    app = App("starting")
    app._faust = SimpleNamespace(consumer=SimpleNamespace(assignment=not_started))  # type: ignore[assignment]
    status = await app.readiness(0.1)
    assert status["ready"] is False
    assert status["partitions"] == []
