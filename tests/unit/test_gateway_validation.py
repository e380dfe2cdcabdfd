"""What the gateway accepts: inquiries and answers, with clear refusals; pages that
escape whatever they show."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from agents.console import pages, validation
from schemas.support import Escalation

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def test_a_valid_inquiry() -> None:
    inquiry = validation.inquiry(b'{"customer_id": "c1", "text": "hello", "lang": "en"}')
    assert (inquiry.customer_id, inquiry.text, inquiry.lang, inquiry.channel) == (
        "c1",
        "hello",
        "en",
        "web",
    )


@pytest.mark.parametrize("lang", ['""', '"auto"'])
def test_an_automatic_language_is_left_to_the_system(lang: str) -> None:
    body = b'{"customer_id": "c1", "text": "hi", "lang": %s}' % lang.encode()
    assert validation.inquiry(body).lang is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'["a list"]', "must be a JSON object"),
        (b'{"text": "hi"}', "customer_id: Field required"),
        (b'{"customer_id": "c", "text": ""}', "text: String should have at least 1 character"),
        (b'{"customer_id": "c", "text": "hi", "lang": "fr"}', "lang: Input should be"),
        (b'{"customer_id": "c", "text": "hi", "admin": true}', "admin: Extra inputs"),
        (b'{"customer_id": 7, "text": "hi"}', "customer_id: Input should be a valid string"),
        (b'{"customer_id": "c", "text": "hi", "x": ' + b"[" * 20 + b"]" * 20 + b"}", "deeper"),
    ],
)
def test_bad_inquiries_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(validation.BadRequest, match=message):
        validation.inquiry(body)


def test_refusals_do_not_echo_the_input() -> None:
    with pytest.raises(validation.BadRequest) as e:
        validation.inquiry(b'{"customer_id": "c", "text": "hi", "lang": "' + b"<b>" + b'"}')
    assert "<b>" not in str(e.value)


def test_an_answer_from_a_form() -> None:
    form = validation.answer({"ticket": " T-1 ", "text": " thanks ", "agent_name": "", "csrf": "x"})
    assert (form.ticket, form.text, form.agent_name) == ("T-1", "thanks", "console")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "x"}, "ticket: Field required"),
        ({"ticket": "T", "text": "   "}, "text: String should have at least 1 character"),
        ({"ticket": "T", "text": "x" * 8001}, "text: String should have at most 8000"),
    ],
)
def test_bad_answers_say_what_is_wrong(data: dict[str, str], message: str) -> None:
    with pytest.raises(validation.BadRequest, match=message):
        validation.answer(data)


def test_pages_escape_what_they_show() -> None:
    escalation = Escalation(
        ticket='T-"1"',
        inquiry_id="i1",
        customer_id="<c>",
        text=XSS,
        lang="en",
        category="complaint",
        urgency="high",
        confidence=0.5,
        reason="<reason>",
        received_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        reply_topic="r",
    )
    html = pages.agent([escalation], csrf='"><x', notice="<n>")
    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert 'value="T-&quot;1&quot;"' in html
    assert "&lt;c&gt;" in html
    assert "&lt;reason&gt;" in html
    assert "&lt;n&gt;" in html
    assert 'value="&quot;&gt;&lt;x"' in html
    assert "<script" not in pages.login("t", error="<script>x</script>")


def test_pages_have_no_inline_script() -> None:
    for html in (pages.chat(), pages.kpis(), pages.login("t"), pages.agent([], "t")):
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith('src="/static/'), tag[:60]
