"""The customer-service system end to end in memory (streams.testing, offline model):
preprocess -> router -> knowledge base | technical | complaints -> the customer, with
escalations, a person's answer, quality records and conversation memory; the same
scenarios run on the broker in tests/integration/test_support.py."""

from __future__ import annotations

import collections
import logging

import orjson
import pytest

from agents.shared.models.offline import OfflineModel
from agents.support import SupportApp, Topics, create_app
from config import Settings
from schemas.support import Escalation, HumanAnswer, Inquiry, Quality, Reply
from streams.testing import TestApp, headers_for
from tests.support_fixtures import PII, inquiry, leaks, shipped_inquiries

PREFIX = "mem."
INQUIRIES = Topics(PREFIX).inquiries


def support_app() -> SupportApp:
    return create_app(Settings(), OfflineModel(), prefix=PREFIX)


async def test_every_inquiry_ends_in_one_reply_and_no_personal_data_leaks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)  # what a worker logs by default
    app = support_app()
    names = app.names
    texts = [(r["text"], r["lang"]) for r in shipped_inquiries(per_lang=8)]
    texts += [(text, None) for text in PII.values()]
    half = len(texts) // 2
    async with TestApp(app) as t:
        asked = []
        for i, (text, lang) in enumerate(texts[:half]):
            msg = inquiry(i, text, lang)
            asked.append(
                (await t.ask(names.inquiries, msg, key=msg.customer_id.encode())).parse(Reply)
            )
        sent = [
            t.send(names.inquiries, m, key=m.customer_id.encode()).id
            for m in (inquiry(i, *tl) for i, tl in enumerate(texts[half:], half))
        ]
        await t.drain()

        # A person answers an escalated inquiry that was asked: the answer goes to the
        # system's stable replies topic (the escalation's reply_topic), which outlives
        # the asker's private one.
        escalations = {e.ticket: e for e in t.messages(names.escalations, Escalation)}
        mine = next(r for r in asked if r.status == "escalated" and r.ticket)
        esc = escalations[str(mine.ticket)]
        answer = HumanAnswer(
            ticket=esc.ticket, inquiry_id=esc.inquiry_id, customer_id=esc.customer_id,
            text="We fixed it on our side; please try again.", agent_name="Ana",
            category=esc.category, urgency=esc.urgency, received_at=esc.received_at,
        )  # fmt: skip
        t.send(
            names.human_answers, answer, key=esc.customer_id.encode(),
            replyto=esc.reply_topic, correlationid=esc.correlation_id,
        )  # fmt: skip
        await t.drain()

    on_topic = t.messages(names.replies, Reply)
    human = [r for r in on_topic if r.status == "human"]
    replies = [r for r in on_topic if r.status != "human"] + asked
    by_id = collections.Counter(r.inquiry_id for r in replies)
    assert set(by_id) == {r.inquiry_id for r in asked} | set(sent)
    assert set(by_id.values()) == {1}, "exactly one reply per inquiry"
    assert {r.status for r in replies} == {"answered", "escalated"}
    escalated = {r.inquiry_id for r in replies if r.status == "escalated"}
    assert collections.Counter(e.inquiry_id for e in escalations.values()) == dict.fromkeys(
        escalated, 1
    )
    quality = t.messages(names.quality, Quality)
    first = collections.Counter(q.inquiry_id for q in quality if q.status != "human")
    assert first == by_id, "one quality record per reply"
    assert [q.inquiry_id for q in quality if q.status == "human"] == [esc.inquiry_id]

    assert esc.reply_topic == names.replies
    assert [(r.inquiry_id, r.ticket, r.model) for r in human] == [
        (esc.inquiry_id, esc.ticket, "human")
    ]
    assert all(r.sources and r.model == "offline" for r in replies if r.status == "answered")

    for topic in t.broker.topics():
        if topic != names.inquiries:
            for record in t.records(topic):
                assert leaks(record.value or b"") == [], f"personal data in {topic}"
    assert {
        s.mailbox: t.dead_letters(s.mailbox) for s in app.specs if t.dead_letters(s.mailbox)
    } == {}
    assert not [text for text, _ in texts if text in caplog.text], "inquiry text in a log"


async def test_memory_survives_a_restart_and_routes_a_follow_up() -> None:
    first = "The desktop app crashes every time I upload a large file"
    follow_up = "still happening"

    async def ask(t: TestApp, customer: str, text: str) -> Reply:
        msg = Inquiry(customer_id=customer, text=text)
        return (await t.ask(INQUIRIES, msg, key=customer.encode())).parse(Reply)

    async with TestApp(support_app()) as t:
        before = await ask(t, "mem-1", first)
    # A new app on the same Redis (as after a worker restart): only Redis remembers.
    async with TestApp(support_app(), redis=t.redis) as again:
        after = await ask(again, "mem-1", follow_up)
        stranger = await ask(again, "mem-2", follow_up)
        turns = await again.state.items("memory:mem-1")

    assert before.category == "technical"
    assert after.category == "technical", "the follow-up is routed by the earlier turn"
    assert stranger.category != "technical", "without a conversation it is not technical"
    assert [turn["text"] for turn in turns] == [first, follow_up]
    assert [turn["inquiry_id"] for turn in turns] == [before.inquiry_id, after.inquiry_id]


async def test_a_dead_lettered_inquiry_keeps_only_masked_text() -> None:
    """An inquiry that fails (here: no customer id, so not an Inquiry) becomes a dead
    letter with its personal data masked; replaying that value is an ordinary inquiry."""
    app = support_app()
    raw = orjson.dumps({"text": "card 4111 1111 1111 1111, mail me at jane.doe@example.com"})
    async with TestApp(app) as t:
        t.send_raw(INQUIRIES, raw, key=b"c1", headers=headers_for(Inquiry))
        bad = b"\xffnot json jane.doe@example.com"
        t.send_raw(INQUIRIES, bad, key=b"c2", headers=headers_for(Inquiry))
        await t.drain()
        letters = t.dead_letters(INQUIRIES)
        assert [letter.header("dlq.stage") for letter in letters] == ["validate", "decode"]
        assert all(leaks(letter.value or b"") == [] for letter in letters)
        assert orjson.loads(letters[0].value or b"") == {"text": "card [CARD], mail me at [EMAIL]"}
        fixed = orjson.loads(letters[0].value or b"") | {"customer_id": "c1"}
        t.send_raw(INQUIRIES, orjson.dumps(fixed), key=b"c1", headers=headers_for(Inquiry))
        await t.drain()
    assert [r.customer_id for r in t.messages(app.names.replies, Reply)] == ["c1"]
