"""streams.testing: an app's agents run in memory through the production code paths
(decode, dispatch, windows, retries, dead letters, Failed replies, idempotency claims,
keyed state, caches), with only the broker and Redis replaced."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest

from config import Settings
from config.settings import Limits
from schemas import Envelope, Failed, Message
from streams import (
    App,
    Batch,
    BatchContext,
    ConfigurationError,
    Context,
    FatalError,
    RequestFailed,
    RequestTimeout,
    RetriableError,
    Retry,
    handler,
)
from streams.codec import encode
from streams.testing import TestApp, headers_for


class Question(Message):
    text: str


class Answer(Message):
    text: str
    by: str


class Audit(Message):
    text: str


class Count(Message):
    key: str
    seen: int


def new_app(name: str, shutdown: float = 1.0) -> App:
    """An app whose end of run waits ``shutdown`` seconds at most for running handlers."""
    return App(name, Settings(limits=Limits(shutdown_timeout=shutdown)))


# -- replies and chains --------------------------------------------------------------------
async def test_ask_gets_the_agents_result_on_its_own_reply_topic() -> None:
    app = new_app("reply")

    @app.agent("questions")
    async def answer(msg: Question, ctx: Context) -> Answer:
        return Answer(text=msg.text.upper(), by=ctx.agent)

    async with TestApp(app) as t:
        reply = await t.ask("questions", Question(text="hi"), key=b"c1")
        asked = t.records("questions")[0]

    assert reply.parse(Answer) == Answer(text="HI", by="answer")
    assert reply.key == b"c1"
    assert reply.topic == t.reply_topic
    sent = Envelope.from_headers(asked.headers)
    assert reply.envelope.correlationid == sent.correlationid
    assert reply.envelope.causationid == sent.id
    assert t.published("questions.replies") == []  # ce_replyto wins over the reply topic


async def test_a_chain_of_agents_answers_the_original_asker() -> None:
    """router forwards to the knowledge base and fans out an audit record; the knowledge
    base's answer reaches the asker of the router, and its own reply topic stays empty."""
    app = new_app("chain")

    @app.agent("inquiries")
    async def router(msg: Question, ctx: Context) -> None:
        await ctx.send("audit", Audit(text=msg.text))
        await ctx.forward("kb", msg, key=ctx.key)

    @app.agent("kb")
    async def kb(msg: Question, ctx: Context) -> Answer:
        return Answer(text=f"see the manual about {msg.text}", by=ctx.agent)

    async with TestApp(app) as t:
        reply = await t.ask("inquiries", Question(text="invoices"), key=b"c7")
        await t.drain()

    assert reply.parse(Answer) == Answer(text="see the manual about invoices", by="kb")
    (forwarded,) = t.published("kb")
    assert forwarded.key == b"c7"
    assert forwarded.envelope.replyto == t.reply_topic
    assert reply.envelope.causationid == forwarded.envelope.id
    assert t.messages("audit", Audit) == [Audit(text="invoices")]
    (audit,) = t.published("audit")
    assert audit.envelope.replyto is None
    assert audit.envelope.correlationid == reply.envelope.correlationid
    assert t.records("kb.replies") == []
    assert t.records("inquiries.replies") == []


async def test_a_routed_agent_dispatches_by_message_type() -> None:
    app = new_app("routed")

    @app.agent("desk")
    class Desk:
        @handler
        async def question(self, msg: Question, ctx: Context) -> Answer:
            return Answer(text=msg.text, by="question")

        @handler
        async def audit(self, msg: Audit, ctx: Context) -> Answer:
            return Answer(text=msg.text, by="audit")

    async with TestApp(app) as t:
        t.send("desk", Question(text="q"))
        t.send("desk", Audit(text="a"))
        await t.drain()

    assert sorted(a.by for a in t.messages("desk.replies", Answer)) == ["audit", "question"]


# -- retries and dead letters --------------------------------------------------------------
async def test_a_retriable_error_is_retried_without_waiting_for_the_backoff() -> None:
    app = new_app("retry")
    calls: list[int] = []

    @app.agent("jobs", retry=Retry(attempts=3, backoff=10.0, max_backoff=10.0))
    async def flaky(msg: Question, ctx: Context) -> Answer:
        calls.append(1)
        await ctx.send("side", Audit(text=f"attempt {len(calls)}"))
        if len(calls) < 3:
            raise RetriableError("not yet")
        return Answer(text="done", by=ctx.agent)

    started = time.perf_counter()
    async with TestApp(app) as t:
        reply = await t.ask("jobs", Question(text="x"))

    assert time.perf_counter() - started < 5.0  # two backoffs of 5-10 s were skipped
    assert reply.parse(Answer).text == "done"
    assert len(calls) == 3
    assert t.dead_letters("jobs") == []
    assert t.messages("side", Audit) == [Audit(text="attempt 3")]  # failed attempts send nothing
    assert app.metrics.retries.labels("flaky", "jobs")._value.get() == 2


async def test_exhausted_retries_end_in_a_dead_letter_and_a_failed_reply() -> None:
    app = new_app("exhausted")
    calls: list[int] = []

    @app.agent("jobs", retry=Retry(attempts=3, backoff=0.0))
    async def broken(msg: Question, ctx: Context) -> Answer:
        calls.append(1)
        raise RetriableError("the service said no")

    async with TestApp(app) as t:
        with pytest.raises(RequestFailed, match="agent broken failed at stage handle"):
            await t.ask("jobs", Question(text="x"), key=b"k")
        await t.drain()

    assert len(calls) == 3
    (letter,) = t.dead_letters("jobs")
    (original,) = t.records("jobs")
    assert (letter.key, letter.value) == (b"k", original.value)
    assert letter.original_headers() == original.headers
    assert letter.header("dlq.stage") == "handle"
    assert letter.header("dlq.attempts") == "3"
    assert letter.header("dlq.agent") == "broken"
    assert letter.header("dlq.error.class") == "streams.errors.RetriableError"
    assert letter.header("dlq.error.message") == "the service said no"
    assert letter.header("dlq.original.topic") == "jobs"
    assert "RetriableError" in letter.header("dlq.error.stacktrace")
    (failed,) = t.published(t.reply_topic)
    assert failed.parse(Failed).dead_letter_topic == "jobs.dlq"


async def test_a_transient_failure_is_retried_for_the_outage_given() -> None:
    app = new_app("outage")
    calls: list[int] = []

    @app.agent("jobs", retry=Retry(attempts=2))
    async def offline(msg: Question, ctx: Context) -> None:
        calls.append(1)
        raise ConnectionError("the model is away")

    async with TestApp(app, outage=0.05) as t:
        t.send("jobs", Question(text="x"))
        await t.drain()

    assert len(calls) > 2  # an outage is not counted in attempts
    (letter,) = t.dead_letters("jobs")
    assert letter.header("dlq.error.class") == "builtins.ConnectionError"


async def test_a_handler_past_its_timeout_is_a_timeout_dead_letter() -> None:
    app = new_app("slow")

    @app.agent("jobs", timeout=0.01, retry=Retry(attempts=2))
    async def slow(msg: Question, ctx: Context) -> None:
        await asyncio.sleep(1.0)

    async with TestApp(app) as t:
        t.send("jobs", Question(text="x"))
        await t.drain()

    (letter,) = t.dead_letters("jobs")
    assert (letter.header("dlq.stage"), letter.header("dlq.attempts")) == ("timeout", "2")


# -- bad input -------------------------------------------------------------------------------
async def bad_input(value: bytes | None, headers: list[tuple[str, bytes]]) -> list[str]:
    app = new_app("bad")
    handled: list[Question] = []

    @app.agent("inbox")
    async def take(msg: Question, ctx: Context) -> None:
        handled.append(msg)

    async with TestApp(app) as t:
        t.send_raw("inbox", value, key=b"k", headers=headers)
        await t.drain()

    assert handled == []
    (letter,) = t.dead_letters("inbox")
    assert (letter.key, letter.value) == (b"k", value)  # byte for byte
    assert letter.header("dlq.attempts") == "0"
    return [letter.header("dlq.stage"), letter.header("dlq.error.message")]


async def test_bad_json_is_a_dead_letter_at_the_decode_stage() -> None:
    stage, reason = await bad_input(b"{not json", headers_for(Question))
    assert stage == "decode"
    assert "not valid JSON" in reason


async def test_missing_cloudevents_headers_are_a_decode_dead_letter() -> None:
    stage, reason = await bad_input(b'{"text": "hi"}', [])
    assert stage == "decode"
    assert "missing CloudEvents header(s): ce_id" in reason


async def test_a_schema_violation_is_a_dead_letter_at_the_validate_stage() -> None:
    stage, reason = await bad_input(b'{"txt": "typo"}', headers_for(Question))
    assert stage == "validate"
    assert reason.startswith("test_testing_harness.Question")
    assert "typo" not in reason  # validation errors do not repeat the input


async def test_an_unknown_type_is_a_dead_letter_at_the_dispatch_stage() -> None:
    stage, reason = await bad_input(b'{"text": "x"}', headers_for(Audit))
    assert stage == "dispatch"
    assert "test_testing_harness.Audit" in reason


# -- windows, idempotency, state ---------------------------------------------------------------
async def test_a_batch_agent_gets_size_windows_and_the_rest_when_drained() -> None:
    app = new_app("batch")
    windows: list[list[str]] = []

    @app.agent("lines", batch=Batch(max_size=3, within=60.0, eager=False))
    async def lines(batch: list[Question], ctx: BatchContext) -> list[Answer | None]:
        windows.append([m.text for m in batch])
        return [Answer(text=m.text, by="lines") if m.text != "skip" else None for m in batch]

    started = time.perf_counter()
    async with TestApp(app) as t:
        for text in ["a", "b", "c", "d", "skip", "f", "g"]:
            t.send("lines", Question(text=text))
        await t.drain()

    assert time.perf_counter() - started < 5.0  # the last window did not wait 60 s
    assert windows == [["a", "b", "c"], ["d", "skip", "f"], ["g"]]
    assert app.loops["lines"].closes == {"size": 2, "time": 1}
    assert [a.text for a in t.messages("lines.replies", Answer)] == ["a", "b", "c", "d", "f", "g"]


async def test_windows_can_close_on_their_own_timer() -> None:
    app = new_app("timer")
    windows: list[int] = []

    @app.agent("lines", batch=Batch(max_size=100, within=0.05, eager=False))
    async def lines(batch: list[Question], ctx: BatchContext) -> list[None]:
        windows.append(len(batch))
        return [None] * len(batch)

    async with TestApp(app) as t:
        t.send("lines", Question(text="a"))
        t.send("lines", Question(text="b"))
        started = time.perf_counter()
        await t.drain(flush=False)
        waited = time.perf_counter() - started

    assert windows == [2]
    assert waited >= 0.04
    assert app.loops["lines"].closes == {"time": 1}


async def test_an_idempotent_agent_handles_a_redelivered_event_once() -> None:
    app = new_app("idem")
    handled: list[str] = []

    @app.agent("payments", idempotent=True)
    async def pay(msg: Question, ctx: Context) -> Answer:
        handled.append(ctx.envelope.id)
        return Answer(text="paid", by=ctx.agent)

    async with TestApp(app) as t:
        t.send("payments", Question(text="42 EUR"), key=b"order-1")
        await t.drain()
        (first,) = t.records("payments")
        t.send_raw("payments", first.value, key=first.key, headers=first.headers)  # redelivered
        t.send("payments", Question(text="42 EUR"), key=b"order-1")  # a new event: handled
        await t.drain()

    assert len(handled) == 2
    assert handled[0] == Envelope.from_headers(first.headers).id
    assert handled[1] != handled[0]
    assert len(t.messages("payments.replies", Answer)) == 2
    assert t.dead_letters("payments") == []


async def test_an_event_its_last_worker_took_but_never_started_is_handled_not_dead_lettered() -> (
    None
):
    """A worker that dies with events waiting for their turn leaves their claims queued:
    nothing of them happened, so the next worker handles them. One whose handler had
    started may have had side effects: that one is a dead letter."""
    app = new_app("idem")
    handled: list[str] = []

    @app.agent("payments", idempotent=True)
    async def pay(msg: Question, ctx: Context) -> Answer:
        handled.append(msg.text)
        return Answer(text="paid", by=ctx.agent)

    async with TestApp(app) as t:
        claims = f"agentstream:dedupe:{app.id}.pay:"
        queued, started = (Envelope.new(Question.message_type, "t") for _ in range(2))
        await t.redis.set(claims + queued.id, b"queued:0badc0ffee00:0:3")
        await t.redis.set(claims + started.id, b"started:0badc0ffee00:0:4")
        t.send_raw("payments", encode(Question(text="queued")), headers=queued.to_headers())
        t.send_raw("payments", encode(Question(text="started")), headers=started.to_headers())
        await t.drain()

    assert handled == ["queued"]
    (letter,) = t.dead_letters("payments")
    assert letter.header("dlq.error.class") == "streams.processor.DuplicateDelivery"


async def test_keyed_state_persists_across_events_and_not_across_runs() -> None:
    app = new_app("state")

    @app.agent("visits")
    async def count(msg: Question, ctx: Context) -> Count:
        seen = await ctx.state.append(f"visits:{msg.text}", ctx.envelope.id, keep=10)
        return Count(key=msg.text, seen=len(seen))

    async with TestApp(app) as t:
        for text in ["ann", "bob", "ann", "ann"]:
            t.send("visits", Question(text=text), key=text.encode())
        await t.drain()
        assert len(await t.state.items("visits:ann")) == 3
    assert [c.seen for c in t.messages("visits.replies", Count) if c.key == "ann"] == [1, 2, 3]

    async with TestApp(app) as again:
        reply = await again.ask("visits", Question(text="ann"))
    assert reply.parse(Count).seen == 1


async def test_caches_run_on_the_in_memory_redis_without_l3() -> None:
    app = new_app("cached")
    cache = app.cache("squares")
    computed: list[str] = []

    @app.agent("numbers")
    async def square(msg: Question, ctx: Context) -> Answer:
        async def compute() -> str:
            computed.append(msg.text)
            return str(int(msg.text) ** 2)

        return Answer(text=await cache.get_or_compute(msg.text, compute), by=ctx.agent)

    async with TestApp(app) as t:
        first = await t.ask("numbers", Question(text="12"))
        second = await t.ask("numbers", Question(text="12"))
        assert app.settings.cache.l3_url == ""
        assert await t.redis.get("agentstream:cache:squares:12") == orjson.dumps("144")

    assert first.parse(Answer).text == second.parse(Answer).text == "144"
    assert computed == ["12"]
    assert app.settings.cache.l3_url != ""  # the app's own settings are back
    assert app.transport is None


async def test_an_exactly_once_app_runs_in_memory_on_the_same_handling_path() -> None:
    app = App("eos", Settings(limits=Limits(shutdown_timeout=1.0)), guarantee="exactly_once")

    @app.agent("jobs")
    async def echo(msg: Question, ctx: Context) -> Answer:
        return Answer(text=msg.text, by=ctx.agent)

    async with TestApp(app) as t:
        reply = await t.ask("jobs", Question(text="once"))
        t.send_raw("jobs", b"[]", headers=headers_for(Question))
        await t.drain()

    assert reply.parse(Answer) == Answer(text="once", by="echo")
    assert [d.header("dlq.stage") for d in t.dead_letters("jobs")] == ["validate"]
    assert app.transactions is None


# -- failures of the run itself ----------------------------------------------------------------
async def test_a_fatal_error_stops_the_run_and_is_raised() -> None:
    app = new_app("fatal")

    @app.agent("jobs")
    async def give_up(msg: Question, ctx: Context) -> None:
        raise FatalError("credentials revoked")

    async with TestApp(app) as t:
        t.send("jobs", Question(text="x"))
        with pytest.raises(FatalError, match="credentials revoked"):
            await t.drain()
    assert t.dead_letters("jobs") == []  # not committed, not dead-lettered


async def test_a_request_nobody_answers_times_out_naming_the_busy_agent() -> None:
    app = new_app("stuck", shutdown=0.05)

    @app.agent("jobs", timeout=30.0)
    async def stuck(msg: Question, ctx: Context) -> None:
        await asyncio.sleep(30.0)

    async with TestApp(app) as t:
        with pytest.raises(RequestTimeout, match=r"still busy: stuck \(0 queued, 1 taken"):
            await t.ask("jobs", Question(text="x"), timeout=0.05)


async def test_sending_outside_the_run_and_running_twice_are_refused() -> None:
    app = new_app("idle")

    @app.agent("jobs")
    async def nothing(msg: Question, ctx: Context) -> None:
        return None

    t = TestApp(app)
    with pytest.raises(ConfigurationError, match="not running"):
        t.send("jobs", Question(text="x"))
    async with t:
        pass
    with pytest.raises(ConfigurationError, match="not running"):
        await t.drain()
    with pytest.raises(ConfigurationError, match="runs once"):
        await t.start()
    assert app.transport is None


async def test_a_batch_agent_handles_windows_at_once_but_never_two_with_one_key() -> None:
    """Slow bulk calls overlap up to ``concurrency`` windows; a window sharing a key with
    one in flight waits for it, so each key's events are handled in order."""
    app = new_app("overlap")
    running: set[str] = set()
    most = 0
    seen: dict[str, list[int]] = {}

    @app.agent("lines", batch=Batch(max_size=4, within=0.01), concurrency=3)
    async def lines(batch: list[Question], ctx: BatchContext) -> list[None]:
        nonlocal most
        keys = {m.text.split(":")[0] for m in batch}
        assert not keys & running, f"{keys & running} in two windows at once"
        running.update(keys)
        most = max(most, len(running))
        await asyncio.sleep(0.02)
        for m in batch:
            key, seq = m.text.split(":")
            seen.setdefault(key, []).append(int(seq))
        running.difference_update(keys)
        return [None] * len(batch)

    async with TestApp(app) as t:
        for i in range(120):
            key = f"k{i % 12}" if i % 5 else "hot"
            t.send("lines", Question(text=f"{key}:{i}"), key=key.encode())
        await t.drain()

    assert sum(map(len, seen.values())) == 120
    assert all(seqs == sorted(seqs) for seqs in seen.values())
    assert most > 4, "windows never overlapped"  # more keys at once than one window holds
