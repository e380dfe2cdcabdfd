"""Who a customer is, from a credential and never from a field the caller fills.

Two modes (``AGENTSTREAM_GATEWAY__IDENTITY``):

* ``anonymous``: the gateway mints a random customer id (``web-`` and 128 random bits)
  the first time a browser asks, and binds it to a signed cookie (``as_customer``); the
  browser is that customer until the cookie expires (``messages_ttl``). Nobody can pick
  an id: guessing one means forging the cookie's HMAC.
* ``jwt``: a website with its own sign-in vouches for the customer with a JWT in
  ``Authorization: Bearer``, signed with the configured key (HS256 shared secret, or
  RS256/ES256/EdDSA public key); ``exp``, ``aud`` (and ``iss`` when configured) are
  checked and the customer id is the ``sub`` claim.

The id then goes into the inquiry and into the event's auth context (``ce_authid``),
which the support app checks against the inquiry (``agents/support/intake.py``).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt
from aiohttp import web

from agents.console.security import Signer, bearer
from config.settings import GatewaySettings, JwtSettings
from schemas.support import CUSTOMER_ID
from streams import ConfigurationError

CUSTOMER_COOKIE = "as_customer"
_SAFE = re.compile(CUSTOMER_ID)


class Unauthenticated(Exception):
    """A credential was given and is not good; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class Customer:
    """An authenticated customer; ``minted``: new, its cookie is still to be set."""

    id: str
    minted: bool = False


class Identities:
    """Finds the customer behind a request, in the configured mode."""

    def __init__(self, settings: GatewaySettings, signer: Signer) -> None:
        self.mode = settings.identity
        self.signer = signer
        self.ttl = settings.messages_ttl
        self.jwt = settings.jwt
        self._key = _jwt_key(settings.jwt) if self.mode == "jwt" else ""

    def of(self, request: web.Request, *, mint: bool = False) -> Customer | None:
        """The request's customer; None when it carries no credential (in ``anonymous``
        mode with ``mint``: a new customer). :class:`Unauthenticated` for a bad one."""
        if self.mode == "jwt":
            token = bearer(request)
            return None if token is None else Customer(self._subject(token))
        payload = self.signer.load("customer", request.cookies.get(CUSTOMER_COOKIE))
        cid = None if payload is None else payload.get("cid")
        if isinstance(cid, str) and _SAFE.match(cid):
            return Customer(cid)
        return Customer(f"web-{secrets.token_hex(16)}", minted=True) if mint else None

    def cookie(self, customer: Customer) -> str:
        """The signed cookie value that makes a browser ``customer`` (anonymous mode)."""
        return self.signer.dump("customer", {"cid": customer.id}, self.ttl)

    def _subject(self, token: str) -> str:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=list(self.jwt.algorithms),
                audience=self.jwt.audience,
                issuer=self.jwt.issuer,
                leeway=self.jwt.leeway,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.InvalidTokenError as e:
            raise Unauthenticated(f"the identity token is not valid: {e}") from e
        subject = claims["sub"]
        if not isinstance(subject, str) or not _SAFE.match(subject):
            raise Unauthenticated("the identity token's sub is not a valid customer id")
        return subject


def _jwt_key(settings: JwtSettings) -> str:
    if settings.key is None or not settings.key.get_secret_value():
        raise ConfigurationError(
            "AGENTSTREAM_GATEWAY__IDENTITY=jwt needs AGENTSTREAM_GATEWAY__JWT__KEY: the HS256 "
            "secret, or the public key (PEM, or @path to a PEM file) for RS256/ES256/EdDSA"
        )
    hmac_algorithms = {a for a in settings.algorithms if a.startswith("HS")}
    if hmac_algorithms and len(hmac_algorithms) != len(set(settings.algorithms)):
        # One key cannot be both a shared secret and a public key (algorithm confusion).
        raise ConfigurationError("AGENTSTREAM_GATEWAY__JWT__ALGORITHMS mixes HS* with others")
    key = settings.key.get_secret_value()
    if key.startswith("@"):
        path = Path(key[1:])
        if not path.is_file():
            raise ConfigurationError(f"AGENTSTREAM_GATEWAY__JWT__KEY names {path}: no such file")
        key = path.read_text()
    if any(a.startswith("HS") for a in settings.algorithms) and len(key) < 32:
        raise ConfigurationError("the JWT HMAC secret must be at least 32 characters")
    return key
