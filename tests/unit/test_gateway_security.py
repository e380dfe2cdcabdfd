"""Signed cookies, session-bound CSRF tokens and the console token check."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.console.security import Session, Sessions, Signer, token_matches

SECRET = b"s" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(clock: Clock) -> Sessions:
    return Sessions(Signer(SECRET, clock), ttl=60)


def test_a_session_round_trips(sessions: Sessions) -> None:
    session = sessions.new(auth=True)
    assert sessions.load(sessions.dump(session)) == session


def test_new_sessions_have_distinct_ids(sessions: Sessions) -> None:
    assert sessions.new(auth=False).sid != sessions.new(auth=False).sid


def test_a_session_expires(sessions: Sessions, clock: Clock) -> None:
    cookie = sessions.dump(sessions.new(auth=True))
    clock.now += 59
    assert sessions.load(cookie) is not None
    clock.now += 2
    assert sessions.load(cookie) is None


@pytest.mark.parametrize("cookie", [None, "", "garbage", "a.b.c", "!!!.???", "e30.AAAA"])
def test_malformed_cookies_are_no_session(sessions: Sessions, cookie: str | None) -> None:
    assert sessions.load(cookie) is None


def test_a_tampered_payload_is_refused(sessions: Sessions) -> None:
    cookie = sessions.dump(Session("abc", auth=False))
    body, mac = cookie.split(".")
    forged_body = sessions.dump(Session("abc", auth=True)).split(".")[0]
    assert sessions.load(f"{forged_body}.{mac}") is None
    assert sessions.load(f"{body}.{mac}") == Session("abc", auth=False)


def test_another_secret_does_not_verify(sessions: Sessions, clock: Clock) -> None:
    other = Sessions(Signer(b"o" * 32, clock), ttl=60)
    assert other.load(sessions.dump(sessions.new(auth=True))) is None


def test_a_value_signed_for_a_customer_is_no_session(sessions: Sessions) -> None:
    customer = sessions.customer_cookie("c-1")
    assert sessions.customer_of(customer) == "c-1"
    assert sessions.load(customer) is None
    assert sessions.customer_of(sessions.dump(sessions.new(auth=True))) is None


def test_csrf_token_is_bound_to_the_session(sessions: Sessions) -> None:
    mine, theirs = sessions.new(auth=True), sessions.new(auth=True)
    token = sessions.csrf_token(mine)
    assert sessions.csrf_ok(mine, token)
    assert not sessions.csrf_ok(theirs, token)
    assert not sessions.csrf_ok(None, token)
    assert not sessions.csrf_ok(mine, "")
    assert not sessions.csrf_ok(mine, None)
    assert not sessions.csrf_ok(mine, token[:-1])


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        Signer(b"short")


def test_console_token_check() -> None:
    token = SecretStr("correct horse")
    assert token_matches(token, "correct horse")
    assert not token_matches(token, "correct hors")
    assert not token_matches(token, "")
    assert not token_matches(token, None)
    assert not token_matches(None, "anything")
    assert not token_matches(None, "")
