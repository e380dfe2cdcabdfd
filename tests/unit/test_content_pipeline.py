"""The content system end to end in memory (streams.testing): every agent and hand-over
as on the broker (tests/integration/test_content.py runs the same scenarios there), in a
fraction of a second each."""

from __future__ import annotations

import asyncio
import collections

import orjson
import pytest

from agents.content import ContentApp, ContentSettings, create_app
from config import Settings
from schemas import Envelope
from schemas.content import ContentRequest, Draft, Published
from streams import RequestFailed
from streams.testing import TestApp, headers_for
from tests.content_fixtures import Faulty, check_complete, request

FAST = ContentSettings(section_deadline=0.05, call_deadline=1.0)


def app_with(model: Faulty) -> ContentApp:
    return create_app(Settings(), model, prefix="mem.", options=FAST)


def dead_letters(t: TestApp, app: ContentApp) -> dict[str, int]:
    counts = {s.mailbox: len(t.dead_letters(s.mailbox)) for s in app.specs}
    return {mailbox: n for mailbox, n in counts.items() if n}


async def test_every_request_gets_one_published_record() -> None:
    app = app_with(Faulty())
    topics = app.mailboxes
    async with TestApp(app) as t:
        asks = [t.ask(topics.requests, request(n)) for n in range(4)]
        replies = await asyncio.gather(*asks)
        sent = [f"sent-{n}" for n in range(4)]
        for n, rid in enumerate(sent):
            t.send(topics.requests, request(n, request_id=rid), key=rid.encode())
        await t.drain()

    asked = [r.parse(Published) for r in replies]
    for p in asked:
        check_complete(p)
    assert len({p.request_id for p in asked}) == 4
    published = t.messages(topics.published, Published)
    assert collections.Counter(p.request_id for p in published) == dict.fromkeys(sent, 1)
    for p in published:
        check_complete(p)
    assert dead_letters(t, app) == {}


async def test_failing_and_stuck_writers_are_replaced_by_the_fallback_writer() -> None:
    model = Faulty(fail=frozenset({"technical"}), hang=frozenset({"research"}))
    app = app_with(model)
    async with TestApp(app) as t:
        replies = await asyncio.gather(
            *(t.ask(app.mailboxes.requests, request(n)) for n in range(2))
        )
    for reply in replies:
        p = reply.parse(Published)
        check_complete(p, kinds_failed=frozenset({"technical", "research"}))
        reasons = {s.kind: s.reason or "" for s in p.sections if s.writer == "fallback"}
        assert (
            "technical writer: ConnectionError: technical model unreachable" in reasons["technical"]
        )
        assert "research writer: no answer within 0.05s" in reasons["research"]
        assert all(s.reason is None for s in p.sections if s.writer != "fallback")


async def test_review_rounds_are_honoured() -> None:
    app = app_with(Faulty(score=0.1))
    async with TestApp(app) as t:
        asks = [
            t.ask(app.mailboxes.requests, request(n, max_review_rounds=rounds))
            for n, rounds in enumerate([0, 1, 3])
        ]
        replies = [r.parse(Published) for r in await asyncio.gather(*asks)]
    assert [p.rounds for p in replies] == [0, 1, 3]
    assert [[n.round for n in p.reviews] for p in replies] == [[0], [0, 1], [0, 1, 2, 3]]
    assert all(n.score == 0.1 for p in replies for n in p.reviews)


async def test_bad_requests_become_dead_letters_with_their_reason() -> None:
    app = app_with(Faulty())
    mailbox = app.mailboxes.requests
    bad = [
        {"topic": "", "audience": "ops"},
        {"topic": "kafka", "audience": "ops", "max_review_rounds": 99},
    ]
    async with TestApp(app) as t:
        for body in bad:
            t.send_raw(mailbox, orjson.dumps(body), headers=headers_for(ContentRequest))
        with pytest.raises(RequestFailed, match="max_review_rounds"):
            await t.ask(mailbox, ContentRequest.model_construct(
                topic="kafka", audience="ops", max_review_rounds=99, request_id=None,
                sections=None))  # fmt: skip
        await t.drain()

    letters = t.dead_letters(mailbox)
    assert len(letters) == len(bad) + 1
    assert {letter.header("dlq.stage") for letter in letters} == {"validate"}
    reasons = sorted(letter.header("dlq.error.message") for letter in letters[: len(bad)])
    assert "max_review_rounds" in reasons[0]
    assert "less than or equal to 5" in reasons[0]
    assert "\ntopic\n" in reasons[1]
    assert "at least 1 character" in reasons[1]
    assert t.records(app.mailboxes.writers["research"]) == []  # nothing went further


async def test_redelivered_sections_do_not_publish_a_piece_twice() -> None:
    """Every section handled again (their events redelivered after a crash): the fan-in
    markers in keyed state re-emit the assembled draft for the event that completed it
    only, and the publisher's marker keeps the piece published once."""
    app = app_with(Faulty())
    topics = app.mailboxes
    async with TestApp(app) as t:
        t.send(topics.requests, request(0, request_id="once"), key=b"once")
        await t.drain()
        sections = t.records(topics.drafts)
        for record in sections:
            t.send_raw(topics.drafts, record.value, key=record.key, headers=record.headers)
        await t.drain()

    assert len(sections) > 1
    assert len(t.messages(topics.published, Published)) == 1
    assembled = [r for r in t.published(topics.review) if r.parse(Draft).round == 0]
    assert len(assembled) == 2  # the first emission, and once more for its redelivered event
    first, again = assembled
    assert first.parse(Draft) == again.parse(Draft)
    assert first.envelope.causationid == again.envelope.causationid
    section_ids = {Envelope.from_headers(r.headers).id for r in sections}
    assert first.envelope.causationid in section_ids
    assert dead_letters(t, app) == {}
