"""Signed cookies, session-bound CSRF tokens, the console token's strength and check,
the customer identity from a cookie or a JWT."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from agents.console.identity import Identities, Unauthenticated
from agents.console.security import Signer, console_token, token_matches
from agents.console.sessions import Session, Sessions
from config.settings import GatewaySettings, JwtSettings
from streams import ConfigurationError

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
    # The Redis records are not touched by what these tests call (cookies, CSRF).
    return Sessions(Signer(SECRET, clock), None, ttl=60, token=None)  # type: ignore[arg-type]


def test_a_session_round_trips(sessions: Sessions) -> None:
    session = Session("abc", auth=True)
    assert sessions.parse(sessions.cookie(session)) == session


def test_new_sessions_have_distinct_ids(sessions: Sessions) -> None:
    assert sessions.anonymous().sid != sessions.anonymous().sid


def test_a_session_cookie_expires(sessions: Sessions, clock: Clock) -> None:
    cookie = sessions.cookie(Session("abc", auth=True))
    clock.now += 59
    assert sessions.parse(cookie) is not None
    clock.now += 2
    assert sessions.parse(cookie) is None


@pytest.mark.parametrize("cookie", [None, "", "garbage", "a.b.c", "!!!.???", "e30.AAAA"])
def test_malformed_cookies_are_no_session(sessions: Sessions, cookie: str | None) -> None:
    assert sessions.parse(cookie) is None


def test_a_tampered_payload_is_refused(sessions: Sessions) -> None:
    cookie = sessions.cookie(Session("abc", auth=False))
    body, mac = cookie.split(".")
    forged_body = sessions.cookie(Session("abc", auth=True)).split(".")[0]
    assert sessions.parse(f"{forged_body}.{mac}") is None
    assert sessions.parse(f"{body}.{mac}") == Session("abc", auth=False)


def test_another_secret_does_not_verify(sessions: Sessions, clock: Clock) -> None:
    other = Sessions(Signer(b"o" * 32, clock), None, ttl=60, token=None)  # type: ignore[arg-type]
    assert other.parse(sessions.cookie(Session("abc", auth=True))) is None


def test_csrf_token_is_bound_to_the_session(sessions: Sessions) -> None:
    mine, theirs = sessions.anonymous(), sessions.anonymous()
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


STRONG = "x7Qm2LpV9rTz4KcW1nHs8YdF3jBg6AeU"


def test_console_token_check() -> None:
    token = SecretStr(STRONG)
    assert token_matches(token, STRONG)
    assert not token_matches(token, STRONG[:-1])
    assert not token_matches(token, "")
    assert not token_matches(token, None)
    assert not token_matches(None, "anything")
    assert not token_matches(None, "")


@pytest.mark.parametrize(
    "weak", ["x", "correct horse", "a" * 40, "abababababababababababababababab", "changeme"]
)
def test_a_weak_console_token_refuses_to_start(weak: str) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 random characters"):
        console_token(SecretStr(weak))


def test_an_unset_or_empty_console_token_disables_the_console() -> None:
    assert console_token(None) is None
    assert console_token(SecretStr("")) is None
    assert console_token(SecretStr(STRONG)) == SecretStr(STRONG)


class Request:
    """What :meth:`Identities.of` reads of a request."""

    def __init__(self, cookies: dict[str, str] | None = None, bearer: str | None = None) -> None:
        self.cookies = cookies or {}
        self.headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}


def test_an_anonymous_customer_is_minted_and_kept_by_its_cookie(clock: Clock) -> None:
    ids = Identities(GatewaySettings(), Signer(SECRET, clock))
    assert ids.of(Request()) is None  # type: ignore[arg-type]
    new = ids.of(Request(), mint=True)  # type: ignore[arg-type]
    assert new is not None
    assert new.minted
    assert new.id.startswith("web-")
    assert len(new.id) == 36
    again = ids.of(Request({"as_customer": ids.cookie(new)}))  # type: ignore[arg-type]
    assert again is not None
    assert (again.id, again.minted) == (new.id, False)
    other = Identities(GatewaySettings(), Signer(b"o" * 32, clock))
    assert other.of(Request({"as_customer": ids.cookie(new)})) is None  # type: ignore[arg-type]


JWT_KEY = "k" * 16 + "K" * 16


def jwt_identities() -> Identities:
    g = GatewaySettings(identity="jwt", jwt=JwtSettings(key=SecretStr(JWT_KEY)))
    return Identities(g, Signer(SECRET))


def token(**claims: object) -> str:
    import time

    import jwt

    base = {"sub": "cust-42", "aud": "agentstream-support", "exp": time.time() + 60}
    return jwt.encode({**base, **claims}, JWT_KEY, algorithm="HS256")


def test_a_jwt_names_the_customer() -> None:
    found = jwt_identities().of(Request(bearer=token()))  # type: ignore[arg-type]
    assert found is not None
    assert found.id == "cust-42"
    assert jwt_identities().of(Request()) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"exp": 1}, "expired"),
        ({"aud": "another-service"}, "(?i)audience"),
        ({"sub": "alice\u202e1"}, "not a valid customer id"),
    ],
)
def test_a_bad_jwt_is_refused(claims: dict[str, object], why: str) -> None:
    with pytest.raises(Unauthenticated, match=why):
        jwt_identities().of(Request(bearer=token(**claims)))  # type: ignore[arg-type]


def test_a_jwt_signed_with_another_key_or_none_is_refused() -> None:
    import time

    import jwt

    claims = {"sub": "cust-42", "aud": "agentstream-support", "exp": time.time() + 60}
    forged = jwt.encode(claims, "z" * 32, algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for bad in (forged, unsigned, "not-a-jwt"):
        with pytest.raises(Unauthenticated):
            jwt_identities().of(Request(bearer=bad))  # type: ignore[arg-type]


def test_jwt_mode_without_a_key_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="JWT__KEY"):
        Identities(GatewaySettings(identity="jwt"), Signer(SECRET))
    mixed = JwtSettings(key=SecretStr(JWT_KEY), algorithms=["HS256", "RS256"])
    with pytest.raises(ConfigurationError, match="mixes"):
        Identities(GatewaySettings(identity="jwt", jwt=mixed), Signer(SECRET))
