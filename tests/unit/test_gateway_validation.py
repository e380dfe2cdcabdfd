"""What the gateway accepts: inquiries and answers, with clear refusals; pages that
escape whatever they show."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from pydantic import ValidationError

from agents.console import pages, validation
from schemas.support import Escalation, Inquiry

XSS = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def test_a_valid_inquiry() -> None:
    inquiry = validation.inquiry(b'{"customer_id": "c1", "text": "hello", "lang": "en"}', "c1")
    assert (inquiry.customer_id, inquiry.text, inquiry.lang, inquiry.channel) == (
        "c1",
        "hello",
        "en",
        "web",
    )


@pytest.mark.parametrize("lang", ['""', '"auto"'])
def test_an_automatic_language_is_left_to_the_system(lang: str) -> None:
    body = b'{"customer_id": "c1", "text": "hi", "lang": %s}' % lang.encode()
    assert validation.inquiry(body, "c1").lang is None


def test_the_customer_is_the_authenticated_one_whatever_the_body_says() -> None:
    assert validation.inquiry(b'{"text": "hi"}', "web-1").customer_id == "web-1"
    with pytest.raises(validation.NotYours):
        validation.inquiry(b'{"customer_id": "alice-1", "text": "hi"}', "web-1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"text": "\xff"}', "not valid UTF-8"),
        (b'["a list"]', "must be a JSON object"),
        (b'{"customer_id": "c"}', "text: Field required"),
        (b'{"customer_id": "c", "text": ""}', "text: String should have at least 1 character"),
        (b'{"customer_id": "c", "text": "hi", "lang": "fr"}', "lang: Input should be"),
        (b'{"customer_id": "c", "text": "hi", "admin": true}', "admin: Extra inputs"),
        (b'{"customer_id": "c", "text": "hi", "x": ' + b"[" * 20 + b"]" * 20 + b"}", "deeper"),
        # 400 levels in 800 bytes: refused by an iterative walk, not Python's recursion.
        (b"[" * 400 + b"]" * 400, "deeper"),
        (b'{"a":' * 400 + b"1" + b"}" * 400, "deeper"),
    ],
)
def test_bad_inquiries_say_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(validation.BadRequest, match=message):
        validation.inquiry(body, "c")


def test_refusals_do_not_echo_the_input() -> None:
    with pytest.raises(validation.BadRequest) as e:
        validation.inquiry(b'{"customer_id": "c", "text": "hi", "lang": "' + b"<b>" + b'"}', "c")
    assert "<b>" not in str(e.value)


def test_a_refusal_names_a_few_problems_however_many_there_are() -> None:
    body = orjson.dumps({"text": "hi", **{f"key{i}" * 20: 1 for i in range(3000)}})
    with pytest.raises(validation.BadRequest) as e:
        validation.inquiry(body, "c")
    message = str(e.value)
    assert message.count("Extra inputs are not permitted") == validation.MAX_PROBLEMS
    assert message.endswith(f"and {3000 - validation.MAX_PROBLEMS} more")
    assert len(message) < 600


@pytest.mark.parametrize(
    "customer_id", ["alice\u202e1", "a\u0000b", "a\nb", "a b", "-a", "客户", "x" * 129, ""]
)
def test_customer_ids_keep_to_a_safe_alphabet(customer_id: str) -> None:
    with pytest.raises(ValidationError):
        Inquiry(customer_id=customer_id, text="hi")


def test_customer_ids_of_the_safe_alphabet_pass() -> None:
    for good in ("web-0f3a", "c1", "eval-1a2b-17", "user@example.com", "a.b:c+d_e"):
        assert Inquiry(customer_id=good, text="hi").customer_id == good


@pytest.mark.parametrize(
    ("body", "content_type", "charset", "message"),
    [
        (b"--x\r\n", "multipart/form-data", None, "x-www-form-urlencoded"),
        (b"token=a", "application/x-www-form-urlencoded", "klingon-8", "unknown charset"),
        (b"token=\xff\xfe", "application/x-www-form-urlencoded", "utf-8", "not valid utf-8"),
        (b"&".join(b"f%d=1" % i for i in range(50)), "application/x-www-form-urlencoded", None,
         "too many fields"),
    ],
)  # fmt: skip
def test_bad_forms_are_refused_clearly(
    body: bytes, content_type: str, charset: str | None, message: str
) -> None:
    with pytest.raises(validation.BadRequest, match=message):
        validation.form(body, content_type, charset)


def test_a_form_in_another_charset() -> None:
    body = "token=caf\u00e9&csrf=x".encode("latin-1")
    assert validation.form(body, "application/x-www-form-urlencoded", "latin-1") == {
        "token": "café",
        "csrf": "x",
    }


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
    escalation = _escalation(ticket='T-"1"', customer_id="<c>", text=XSS, reason="<reason>")
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


def test_values_shown_are_isolated_from_the_text_around_them() -> None:
    escalation = _escalation(customer_id="alice\u202e1-gnp.exe")
    html = pages.agent([escalation], csrf="t")
    assert '<bdi class="customer">alice\u202e1-gnp.exe</bdi>' in html
    assert '<bdi class="ticket">T-1</bdi>' in html


def test_the_console_is_paged() -> None:
    html = pages.agent([], "t", total=120, page=2, size=50)
    assert "page 2 of 3" in html
    assert 'href="/agent?page=1"' in html
    assert 'href="/agent?page=3"' in html


def test_pages_have_no_inline_script() -> None:
    for html in (pages.chat(), pages.kpis(), pages.login("t"), pages.agent([], "t")):
        for tag in html.split("<script")[1:]:
            assert tag.lstrip().startswith('src="/static/'), tag[:60]


def _escalation(**fields: str) -> Escalation:
    values: dict[str, object] = {
        "ticket": "T-1",
        "inquiry_id": "i1",
        "customer_id": "c1",
        "text": "hi",
        "lang": "en",
        "category": "complaint",
        "urgency": "high",
        "confidence": 0.5,
        "reason": "r",
        "received_at": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
        "reply_topic": "r",
    }
    return Escalation.model_validate({**values, **fields})
