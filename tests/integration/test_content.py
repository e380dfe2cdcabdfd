"""The content system end to end on the real broker and Redis: one Published record per
request with every section and its writer, failing writers replaced by the fallback
writer, review rounds honoured, bad requests dead-lettered with their reason, and no
request lost when a worker is killed (-9) mid-run."""

from __future__ import annotations

import asyncio
import collections
import signal
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from agents.content import ContentApp, ContentSettings, create_app
from config import Settings
from schemas import Envelope
from schemas.content import ContentRequest, Published
from streams import Client, ConfigurationError, RequestFailed
from streams.connection import client_kwargs, partitions_of
from tests.content_fixtures import Faulty, check_complete, request
from tests.integration.helpers import collect, produce
from tests.integration.workers import Workers, wait_until

ASK_TIMEOUT = 120.0
FAST = ContentSettings(section_deadline=1.0, call_deadline=5.0)


@asynccontextmanager
async def content(
    settings: Settings, unique: str, model: Faulty, options: ContentSettings = FAST
) -> AsyncIterator[tuple[ContentApp, Client]]:
    app = create_app(settings, model, prefix=f"{unique}.", options=options)
    async with app.running(), Client(settings) as client:
        yield app, client


async def published_records(settings: Settings, topic: str) -> int:
    """How many records ``topic`` holds."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(settings.kafka, topic)]
    consumer = AIOKafkaConsumer(**client_kwargs(settings.kafka))
    await consumer.start()
    try:
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        return sum(ends.values())
    finally:
        await consumer.stop()


async def test_every_request_gets_one_published_record(settings: Settings, unique: str) -> None:
    published_topic = f"{unique}.content.published"
    async with content(settings, unique, Faulty()) as (app, client):
        mailbox = app.mailboxes.requests
        asks = [client.ask(mailbox, request(n), timeout=ASK_TIMEOUT) for n in range(10)]
        sent = [f"sent-{n}-{uuid.uuid4().hex[:6]}" for n in range(10)]
        for n, rid in enumerate(sent):
            await client.send(mailbox, request(n, request_id=rid), key=rid.encode())
        replies = await asyncio.gather(*asks)
        records = await collect(settings, published_topic, len(sent), wait=ASK_TIMEOUT)
        await asyncio.sleep(2)  # let any duplicate in flight land before counting
        on_topic = await published_records(settings, published_topic)

    asked = [r.parse(Published) for r in replies]
    for p in asked:
        check_complete(p)
    assert len({p.request_id for p in asked}) == 10
    by_id = collections.Counter(Published.model_validate_json(r.value).request_id for r in records)
    assert set(by_id) == set(sent)
    assert on_topic == len(sent), "a duplicate, or an asked request answered on the topic"
    for r in records:
        check_complete(Published.model_validate_json(r.value))
    zh = next(p for p in asked if p.topic == "事件流处理入门")
    assert zh.word_count > 0
    assert zh.reading_minutes > 0


async def test_failing_and_stuck_writers_are_replaced_by_the_fallback_writer(
    settings: Settings, unique: str
) -> None:
    model = Faulty(fail=frozenset({"technical"}), hang=frozenset({"research"}))
    async with content(settings, unique, model) as (app, client):
        replies = await asyncio.gather(
            *(client.ask(app.mailboxes.requests, request(n), timeout=ASK_TIMEOUT) for n in range(4))
        )
    for reply in replies:
        p = reply.parse(Published)
        check_complete(p, kinds_failed=frozenset({"technical", "research"}))
        reasons = {s.kind: s.reason or "" for s in p.sections if s.writer == "fallback"}
        assert (
            "technical writer: ConnectionError: technical model unreachable" in reasons["technical"]
        )
        assert "research writer: no answer within 1s" in reasons["research"]
        assert all(s.reason is None for s in p.sections if s.writer != "fallback")


async def test_review_rounds_are_honoured(settings: Settings, unique: str) -> None:
    async with content(settings, unique, Faulty(score=0.1)) as (app, client):
        mailbox = app.mailboxes.requests
        asks = [
            client.ask(mailbox, request(n, max_review_rounds=rounds), timeout=ASK_TIMEOUT)
            for n, rounds in enumerate([0, 1, 3])
        ]
        replies = [r.parse(Published) for r in await asyncio.gather(*asks)]
    assert [p.rounds for p in replies] == [0, 1, 3]
    assert [[n.round for n in p.reviews] for p in replies] == [[0], [0, 1], [0, 1, 2, 3]]
    assert all(n.score == 0.1 for p in replies for n in p.reviews)


async def test_the_offline_reviewer_is_satisfied_after_one_revision(
    settings: Settings, unique: str
) -> None:
    async with content(settings, unique, Faulty()) as (app, client):
        reply = await client.ask(app.mailboxes.requests, request(0), timeout=ASK_TIMEOUT)
    p = reply.parse(Published)
    assert p.rounds == 1
    first, second = p.reviews
    assert first.score is not None
    assert first.score < FAST.review_threshold
    assert second.score is not None
    assert second.score >= FAST.review_threshold  # sections above it were left alone
    assert "In short" in p.body  # the revision's takeaway


async def test_the_configured_model_is_built_at_start(settings: Settings, unique: str) -> None:
    app = create_app(settings, prefix=f"{unique}.", options=FAST)
    with pytest.raises(ConfigurationError, match="built at start"):
        _ = app.model
    async with app.running(), Client(settings) as client:
        req = request(0, sections=["Why it matters", "How to start"], max_review_rounds=0)
        reply = await client.ask(app.mailboxes.requests, req, timeout=ASK_TIMEOUT)
    p = reply.parse(Published)
    check_complete(p)
    assert [s.title for s in p.sections] == ["Why it matters", "How to start"]
    assert p.rounds == 0


async def test_bad_requests_become_dead_letters_with_their_reason(
    settings: Settings, unique: str
) -> None:
    bad = [
        {"topic": "", "audience": "ops"},
        {"topic": "kafka", "audience": "ops", "max_review_rounds": 99},
    ]
    async with content(settings, unique, Faulty()) as (app, client):
        mailbox = app.mailboxes.requests
        records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = [
            (None, orjson.dumps(body), Envelope.new("content.ContentRequest", "tests").to_headers())
            for body in bad
        ]
        await produce(settings, mailbox, records)
        letters = await collect(settings, f"{mailbox}.dlq", len(bad))
        with pytest.raises(RequestFailed, match="max_review_rounds"):
            await client.ask(mailbox, ContentRequest.model_construct(
                topic="kafka", audience="ops", max_review_rounds=99, request_id=None,
                sections=None), timeout=ASK_TIMEOUT)  # fmt: skip

    assert len(letters) == len(bad)
    assert {dict(r.headers)["dlq.stage"] for r in letters} == {b"validate"}
    reasons = sorted(dict(r.headers)["dlq.error.message"].decode() for r in letters)
    assert "max_review_rounds" in reasons[0]
    assert "less than or equal to 5" in reasons[0]
    assert "\ntopic\n" in reasons[1]
    assert "at least 1 character" in reasons[1]


# -- kill -9 -------------------------------------------------------------------------------


def worker_module(prefix: str) -> str:
    return (
        "from agents.content import ContentSettings, create_app\n"
        "from tests.content_fixtures import Faulty\n"
        f"app = create_app(model=Faulty(delay=0.5), prefix={prefix!r},\n"
        "                 options=ContentSettings(section_deadline=5.0, call_deadline=5.0))\n"
    )


class Tally:
    """Published records on the default reply topic, counted per request id."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, auto_offset_reset="earliest", enable_auto_commit=False,
            **client_kwargs(settings.kafka),
        )  # fmt: skip
        self.counts: collections.Counter[str] = collections.Counter()

    async def seen(self, count: int) -> bool:
        for records in (await self.consumer.getmany(timeout_ms=200)).values():
            for r in records:
                p = Published.model_validate_json(r.value)
                check_complete(p)
                self.counts[p.request_id] += 1
        return len(self.counts) >= count


@pytest.mark.slow
@pytest.mark.timeout(400)
async def test_kill_9_mid_run_loses_no_request(
    settings: Settings, unique: str, tmp_path: Path
) -> None:
    prefix, n = f"{unique}.", 20
    workers = Workers(settings, tmp_path, worker_module(prefix))
    tally = Tally(settings, f"{prefix}content.published")
    ids = [f"req-{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
    workers.start(0)
    workers.start(1)
    try:
        await wait_until(lambda: workers.ready(0), 90, "worker 0 ready")
        await wait_until(lambda: workers.ready(1), 90, "worker 1 ready")
        await tally.consumer.start()
        async with Client(settings) as client:
            for i, rid in enumerate(ids):
                req = request(i, request_id=rid, max_review_rounds=2)
                await client.send(f"{prefix}content.requests", req, key=rid.encode())
                await asyncio.sleep(0.2)  # requests spread over every stage when the kill lands
        await wait_until(lambda: tally.seen(5), 180, "the first 5 published")
        workers.signal(0, signal.SIGKILL)
        workers.start(0)
        await wait_until(lambda: tally.seen(n), 300, f"all {n} published")
        await asyncio.sleep(2)
        await tally.seen(n)  # duplicates that were still on their way
    except AssertionError:
        print(workers.logs())
        raise
    finally:
        workers.stop_all()
        await tally.consumer.stop()
    lost = set(ids) - set(tally.counts)
    duplicates = sum(tally.counts.values()) - len(tally.counts)
    print(f"kill -9 mid-run, {n} requests: {duplicates} duplicate Published, {len(lost)} lost")
    assert lost == set()
    assert set(tally.counts) == set(ids)
