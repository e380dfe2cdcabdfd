"""Console sessions: a signed cookie names the session, and a signed-in session is also
a record in Redis, which is what makes it one. Deleting the record ends it at once on
every replica: sign-out, an administrator (``agentstream console-sessions``), expiry
(``session_ttl``), or a new console token (each record keeps the token's fingerprint;
one that no longer matches is ended when next seen).

A browser that has not signed in gets a session too (cookie only, nothing in Redis), so
that the sign-in form carries a CSRF token bound to it.

Keys, under ``console:<prefix>:``::

    session:<sid>   JSON {created, address, agent, token}, expiring with the session
    sessions        sorted set sid -> expiry time: the index that lists them
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis.asyncio as aioredis
from pydantic import SecretStr

from agents.console.security import Signer, fingerprint

SESSION_COOKIE = "as_session"


@dataclass(frozen=True, slots=True)
class Session:
    """A browser's session: ``sid`` binds its CSRF token; ``auth`` says it signed in."""

    sid: str
    auth: bool


class SessionRecords:
    """The signed-in sessions in Redis, shared by every gateway replica."""

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.namespace = f"console:{prefix}:"
        self._index = f"{self.namespace}sessions"

    def _key(self, sid: str) -> str:
        return f"{self.namespace}session:{sid}"

    async def add(self, sid: str, ttl: float, record: dict[str, Any]) -> None:
        expires = time.time() + ttl
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(sid), orjson.dumps(record), ex=max(1, int(ttl)))
            pipe.zadd(self._index, {sid: expires})
            await pipe.execute()

    async def get(self, sid: str) -> dict[str, Any] | None:
        raw = await self.redis.get(self._key(sid))
        return None if raw is None else orjson.loads(raw)

    async def end(self, sid: str) -> bool:
        """End one session; True if it was open."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(sid))
            pipe.zrem(self._index, sid)
            ended, _ = await pipe.execute()
        return bool(ended)

    async def end_all(self) -> int:
        """End every session; how many were open."""
        return sum([await self.end(sid) for sid in await self._sids()])

    async def signed_in(self) -> list[dict[str, Any]]:
        """The open sessions, oldest first: ``sid``, ``created``, ``expires``,
        ``address`` and ``agent`` (the browser's User-Agent, cut)."""
        await self.redis.zremrangebyscore(self._index, "-inf", time.time())
        sids = await self._sids()
        if not sids:
            return []
        found = []
        raws = await self.redis.mget([self._key(s) for s in sids])
        pairs = await self.redis.zrange(self._index, 0, -1, withscores=True)
        scores = {sid: score for sid, score in cast("list[tuple[bytes, float]]", pairs)}
        for sid, raw in zip(sids, raws, strict=True):
            if raw is not None:
                record = orjson.loads(raw)
                found.append({"sid": sid, "expires": scores.get(sid.encode()), **record})
        return sorted(found, key=lambda r: r.get("created", 0))

    async def _sids(self) -> list[str]:
        found = await self.redis.zrange(self._index, 0, -1)
        return [s.decode() for s in cast("list[bytes]", found)]


class Sessions:
    """Session cookies, their CSRF tokens, and sign-in and sign-out."""

    def __init__(
        self, signer: Signer, records: SessionRecords, ttl: float, token: SecretStr | None
    ) -> None:
        self.signer = signer
        self.records = records
        self.ttl = ttl
        self.token_print = fingerprint(token)

    @staticmethod
    def anonymous() -> Session:
        return Session(secrets.token_urlsafe(18), auth=False)

    def cookie(self, session: Session) -> str:
        return self.signer.dump("session", {"sid": session.sid, "auth": session.auth}, self.ttl)

    def parse(self, value: str | None) -> Session | None:
        """The session a cookie names, by its signature alone."""
        payload = self.signer.load("session", value)
        if payload is None or not isinstance(payload.get("sid"), str):
            return None
        return Session(payload["sid"], payload.get("auth") is True)

    async def load(self, value: str | None) -> Session | None:
        """The session a cookie names; signed in only while its record stands and was
        made with the current console token."""
        session = self.parse(value)
        if session is None or not session.auth:
            return session
        record = await self.records.get(session.sid)
        if record is not None and record.get("token") == self.token_print:
            return session
        if record is not None:
            await self.records.end(session.sid)  # signed in with a token since changed
        return Session(session.sid, auth=False)

    async def sign_in(self, address: str, agent: str) -> Session:
        """A new signed-in session (a new id: one planted before cannot ride along)."""
        session = Session(secrets.token_urlsafe(18), auth=True)
        record = {
            "created": time.time(),
            "address": address,
            "agent": agent[:200],
            "token": self.token_print,
        }
        await self.records.add(session.sid, self.ttl, record)
        return session

    async def sign_out(self, session: Session) -> None:
        await self.records.end(session.sid)

    def csrf_token(self, session: Session) -> str:
        return self.signer.token("csrf", session.sid.encode())

    def csrf_ok(self, session: Session | None, token: object) -> bool:
        if session is None or not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(session).encode())
