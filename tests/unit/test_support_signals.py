"""What an inquiry's words say beyond its topic (agents.support.signals), EN and ZH."""

from __future__ import annotations

import pytest

from agents.support import signals
from agents.support.negation import negation


def read(text: str) -> signals.Signals:
    lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"
    return signals.read(text.lower(), lang)


@pytest.mark.parametrize(
    ("text", "critical"),
    [
        ("Your API has returned 500 since this morning, all our orders are down", "outage"),
        ("Nobody in the office can open the shared folder", "outage"),
        ("全公司都登不上了，业务受影响", "outage"),
        ("Someone logged into my account from another country", "security"),
        ("我的账号被盗了", "security"),
        ("I was charged twice for the same renewal", "money"),
        ("I already cancelled, why am I still charged?", "money"),
        ("我已经取消了自动续费，为什么还扣钱？", "money"),
        ("The Box is smoking and smells of burning plastic", "safety"),
        ("云盒充电时发烫冒烟", "safety"),
        ("My lawyer will be in touch", "legal"),
        ("How do I reset my password?", None),
        ("怎么开发票？", None),
    ],
)
def test_critical_harm_is_named(text: str, critical: str | None) -> None:
    assert read(text).critical == critical


@pytest.mark.parametrize(
    ("text", "status", "action"),
    [
        ("The refund for my returned item has not arrived", True, "refund_status"),
        ("Where is my order? It's been 10 days", True, "order_status"),
        ("退款怎么还没到账？", True, "refund_status"),
        ("我的快递到哪了", True, "order_status"),
        ("How long does a refund take?", False, None),
        ("I never receive the password reset email", False, None),
    ],
)
def test_the_status_of_the_customers_own_case(text: str, status: bool, action: str | None) -> None:
    found = read(text)
    assert (found.status, found.action) == (status, action)


@pytest.mark.parametrize(
    ("text", "asks", "action"),
    [
        ("Please cancel my subscription", True, "cancel_renewal"),
        ("Stop the renewal reminder texts, I do not want to cancel", True, "stop_reminders"),
        ("Can you resend my invoice for March?", True, "resend_invoice"),
        ("I want to cancel my plan", True, "cancel_renewal"),
        ("帮我取消自动续费", True, "cancel_renewal"),
        ("How do I cancel my subscription?", False, None),
        ("I want to cancel, how do I do that?", False, None),
        ("怎么取消自动续费？", False, None),
    ],
)
def test_requests_to_act(text: str, asks: bool, action: str | None) -> None:
    found = read(text)
    assert (found.request, found.action) == (asks, action)
    assert (found.needs_person is not None) is asks


@pytest.mark.parametrize(
    ("text", "access"),
    [
        ("Reset my password, I no longer have access to that email", True),
        ("I lost my phone and I don't have my recovery codes", True),
        ("以前的邮箱已经不用了，怎么找回账号", True),
        ("I never receive the password reset email", False),
        ("How do I change my email address?", False),
    ],
)
def test_the_customers_own_access(text: str, access: bool) -> None:
    assert read(text).access is access


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("How do I turn on photo backup?", {"howto"}),
        ("My photos stopped backing up", {"fix"}),
        ("I can't find where to change my email", {"howto"}),
        ("上传一直失败", {"fix"}),
    ],
)
def test_kinds_of_question(text: str, kinds: set[str]) -> None:
    assert kinds <= read(text).kinds
    if kinds == {"howto"}:
        assert "fix" not in read(text).kinds


@pytest.mark.parametrize(
    ("text", "follow_up", "refers_back"),
    [
        ("and how long does that take?", True, True),
        ("It still does not work", True, True),
        ("那Pro呢？", True, True),
        ("how long?", True, False),
        ("are you hiring engineers?", True, False),
        ("Which countries do you deliver to, and how long does it take?", False, False),
    ],
)
def test_follow_ups(text: str, follow_up: bool, refers_back: bool) -> None:
    lowered = text.lower()
    lang = "zh" if "呢" in text else "en"
    assert signals.is_follow_up(lowered, lang) is follow_up
    assert signals.refers_back(lowered) is refers_back


@pytest.mark.parametrize(
    ("text", "term", "expected"),
    [
        ("i do not want to cancel", "cancel", "volition"),
        ("i'd rather pause instead of cancelling", "cancelling", "volition"),
        ("我不想取消", "取消", "volition"),
        ("i cannot cancel my plan", "cancel", "plain"),
        ("取消不了", "取消", "plain"),
        ("i already cancelled", "cancelled", "done"),
        ("i cancelled last week", "cancelled", "done"),
        ("我已经取消了自动续费", "取消", "done"),
        ("how do i cancel", "cancel", None),
        ("我想取消了", "取消", None),
        ("please cancel my plan", "cancel", None),
    ],
)
def test_negation_of_a_term(text: str, term: str, expected: str | None) -> None:
    start = text.index(term)
    assert negation(text, start, start + len(term)) == expected
