"""Signed cookies, session-bound CSRF tokens, the console token check and the security
headers every response carries.

A cookie value is ``<base64url JSON payload>.<base64url HMAC-SHA256>``, the MAC taken
over a purpose label and the payload, so a value signed for one purpose (a customer's
cookie) is refused for another (a console session). Payloads carry their expiry; nothing
is kept on the server, so replicas sharing ``session_secret`` accept each other's cookies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import web
from pydantic import SecretStr

SESSION_COOKIE = "as_session"
CUSTOMER_COOKIE = "as_customer"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs JSON payloads with an expiry; :meth:`load` returns None for anything
    tampered with, signed for another purpose, malformed or expired."""

    def __init__(self, secret: bytes, clock: Callable[[], float] = time.time) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 bytes long")
        self._secret = secret
        self._clock = clock

    def mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._secret, purpose.encode() + b"\0" + data, hashlib.sha256).digest()

    def dump(self, purpose: str, payload: dict[str, Any], ttl: float) -> str:
        body = orjson.dumps({**payload, "exp": self._clock() + ttl})
        return f"{_b64(body)}.{_b64(self.mac(purpose, body))}"

    def load(self, purpose: str, value: str | None) -> dict[str, Any] | None:
        if not value or value.count(".") != 1:
            return None
        body_part, mac_part = value.split(".")
        try:
            body, mac = _unb64(body_part), _unb64(mac_part)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(mac, self.mac(purpose, body)):
            return None
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float):
            return None
        return payload if payload["exp"] > self._clock() else None


@dataclass(frozen=True, slots=True)
class Session:
    """A browser's session: ``sid`` binds its CSRF token; ``auth`` says it logged in."""

    sid: str
    auth: bool


class Sessions:
    """Session and customer cookies, and the CSRF token bound to a session."""

    def __init__(self, signer: Signer, ttl: float) -> None:
        self.signer = signer
        self.ttl = ttl

    @staticmethod
    def new(*, auth: bool) -> Session:
        return Session(secrets.token_urlsafe(18), auth)

    def dump(self, session: Session) -> str:
        return self.signer.dump("session", {"sid": session.sid, "auth": session.auth}, self.ttl)

    def load(self, value: str | None) -> Session | None:
        payload = self.signer.load("session", value)
        if payload is None or not isinstance(payload.get("sid"), str):
            return None
        return Session(payload["sid"], payload.get("auth") is True)

    def csrf_token(self, session: Session) -> str:
        return _b64(self.signer.mac("csrf", session.sid.encode()))

    def csrf_ok(self, session: Session | None, token: object) -> bool:
        if session is None or not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())

    def customer_cookie(self, customer_id: str) -> str:
        return self.signer.dump("customer", {"cid": customer_id}, self.ttl)

    def customer_of(self, value: str | None) -> str | None:
        payload = self.signer.load("customer", value)
        cid = None if payload is None else payload.get("cid")
        return cid if isinstance(cid, str) else None


def token_matches(expected: SecretStr | None, given: object) -> bool:
    """Whether ``given`` is the console token; always False when none is configured."""
    if expected is None or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer, errors included, carries the headers; dynamic ones are not cached."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        response = e
    response.headers.update(HEADERS)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response
