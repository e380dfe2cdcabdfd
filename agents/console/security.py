"""Signed values, the console token, and what every response carries: the security
headers, and for a failure a short JSON error instead of a traceback.

A signed value is ``<base64url JSON payload>.<base64url HMAC-SHA256>``, the MAC taken
over a purpose label and the payload, so a value signed for one purpose (a customer's
identity) is refused for another (a console session). Payloads carry their expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.exceptions
from aiohttp import web
from pydantic import SecretStr

from streams import ConfigurationError

log = logging.getLogger(__name__)

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
# A console token shorter than this, or one of these, refuses to start the gateway.
MIN_TOKEN_LENGTH = 32
WEAK_TOKENS = frozenset({"local-console-token", "changeme", "change-me", "password", "secret"})
# Error messages are cut here: a client's mistake is not echoed back at length.
MAX_ERROR_CHARS = 500


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

    def token(self, purpose: str, data: bytes) -> str:
        """A MAC as text (a CSRF token, say)."""
        return _b64(self.mac(purpose, data))

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


def console_token(configured: SecretStr | None) -> SecretStr | None:
    """The console token to use: None when unset or empty (the console then refuses
    everyone); :class:`ConfigurationError` when it is too weak to stand guessing."""
    if configured is None or not configured.get_secret_value():
        return None
    value = configured.get_secret_value()
    if len(value) < MIN_TOKEN_LENGTH or value.lower() in WEAK_TOKENS or len(set(value)) < 8:
        raise ConfigurationError(
            f"AGENTSTREAM_GATEWAY__CONSOLE_TOKEN is too weak: use at least "
            f"{MIN_TOKEN_LENGTH} random characters, e.g. $(openssl rand -base64 32)"
        )
    return configured


def token_matches(expected: SecretStr | None, given: object) -> bool:
    """Whether ``given`` is the console token, in constant time; always False when
    none is configured."""
    if expected is None or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.get_secret_value().encode())


def fingerprint(token: SecretStr | None) -> str:
    """What a session records of the token it signed in with: a changed token ends it."""
    value = b"" if token is None else token.get_secret_value().encode()
    return hashlib.sha256(b"agentstream console token\0" + value).hexdigest()[:32]


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def error_body(message: str) -> str:
    """``{"error": message}``, the message cut at :data:`MAX_ERROR_CHARS`."""
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 1] + "…"
    return orjson.dumps({"error": message}).decode()


def error(status: int, message: str, **headers: str) -> web.Response:
    """A JSON error response (see :func:`error_body`)."""
    return web.Response(
        text=error_body(message), status=status, content_type="application/json", headers=headers
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every answer carries the security headers, errors included; dynamic ones are not
    cached. A Redis outage is a 503; any other exception a 500 with a short body (the
    traceback is logged: it is a defect of ours, a client's mistake never gets here)."""
    try:
        response = await handler(request)
    except web.HTTPException as e:
        response = e
    except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as e:
        log.warning("%s %s: Redis is unavailable: %s", request.method, request.path, e)
        response = error(503, "the service is unavailable; try again later", **{"Retry-After": "5"})
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        response = error(500, "internal error")
    response.headers.update(HEADERS)
    if not request.path.startswith("/static/"):
        response.headers.setdefault("Cache-Control", "no-store")
    if isinstance(response, web.HTTPException):
        raise response
    return response
