"""What gateway replicas share, in Redis: the replies each customer got (for the chat
page) and the open escalations (for the console).

Keys, under ``console:<prefix>:``::

    replies:<customer id>   list of reply JSON, the last ``keep``, expiring ``ttl`` after
                            the last one
    reply:<event id>        set when a reply is kept, for ``ttl``: a reply read twice
                            (delivery is at least once) is kept once
    escalations             hash ticket -> Escalation JSON, the open ones
    escalations:order       sorted set of the open tickets, most urgent first, then
                            oldest first (the console's pages)
    answered:<ticket>       the claim of the one answer a ticket gets: ``sending:<id>``
                            while a person's answer is being sent (for ``CLAIM_TTL``),
                            ``sent`` for ``ttl`` once it went out; an escalation read
                            again (a consumer restart) is not reopened while it stands
"""

from __future__ import annotations

from typing import Any, cast

import orjson
import redis.asyncio as aioredis

from schemas.support import Escalation

# Keep a reply unless it was kept already, in one step.
_ADD_REPLY = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) == false then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""
# Open unless answered, in one step: replicas may race on the same ticket.
_OPEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
return 1
"""
RANK = {"critical": 0, "high": 1, "normal": 2, "low": 3}


# Take a ticket's one answer: refused while another answer holds it or after one went out.
_CLAIM = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {0} end
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return {-1} end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return {1, raw}
"""
# Give a claim back (the answer could not be sent), if it is still this one's.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A claim outlives any send; a gateway that died while sending frees the ticket after it
# (the person's answer, if it did go out, closes the ticket when it comes back first).
CLAIM_TTL = 300


def _order(escalation: Escalation) -> float:
    """Most urgent first, then oldest first."""
    return RANK[escalation.urgency] * 10**13 + escalation.received_at.timestamp() * 1000


class Taken(Exception):
    """The ticket has its answer already, or one is being sent."""


class ConsoleStore:
    """Replies per customer and open escalations, shared by every gateway replica."""

    def __init__(self, redis: aioredis.Redis, prefix: str, *, keep: int, ttl: float) -> None:
        self.redis = redis
        self.namespace = f"console:{prefix}:"
        self.keep = keep
        self.ttl = ttl
        self._open = redis.register_script(_OPEN)
        self._add_reply = redis.register_script(_ADD_REPLY)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    async def ping(self) -> bool:
        """Whether Redis answers."""
        return bool(await self.redis.ping())

    # -- replies --------------------------------------------------------------------------
    async def add_reply(self, customer_id: str, item: dict[str, Any]) -> bool:
        """Keep ``item`` (a reply with its event ``id``) for the customer, unless a reply
        with that id was kept already; True if kept."""
        keys = [self._replies(customer_id), f"{self.namespace}reply:{item['id']}"]
        args: list[bytes | int] = [orjson.dumps(item), self.keep, int(self.ttl)]
        return bool(await self._add_reply(keys=keys, args=args))

    async def replies(self, customer_id: str) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(self._replies(customer_id), 0, -1)
        return [orjson.loads(r) for r in raw]

    # -- escalations ----------------------------------------------------------------------
    async def open_escalation(self, escalation: Escalation) -> bool:
        """Keep ``escalation`` open unless its ticket was answered; True if kept."""
        keys = [self._escalations, self._answered(escalation.ticket), self._order]
        args: list[str | float] = [
            escalation.ticket,
            escalation.model_dump_json(),
            _order(escalation),
        ]
        return bool(await self._open(keys=keys, args=args))

    async def reindex(self) -> int:
        """Put open escalations that the page index lacks (kept before it existed) into
        it; how many were added."""
        raw = await self.redis.hvals(self._escalations)
        found = cast("list[bytes]", await self.redis.zrange(self._order, 0, -1))
        indexed = {t.decode() for t in found}
        missing = [
            e for e in (Escalation.model_validate_json(r) for r in raw) if e.ticket not in indexed
        ]
        if missing:
            await self.redis.zadd(self._order, {e.ticket: _order(e) for e in missing})
        return len(missing)

    async def escalation(self, ticket: str) -> Escalation | None:
        raw = await self.redis.hget(self._escalations, ticket)
        return None if raw is None else Escalation.model_validate_json(raw)

    async def escalations(self, offset: int = 0, limit: int = 50) -> tuple[int, list[Escalation]]:
        """How many are open, and ``limit`` of them from ``offset``: most urgent first,
        then oldest first."""
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zcard(self._order)
            pipe.zrange(self._order, offset, offset + limit - 1)
            total, tickets = await pipe.execute()
        if not tickets:
            return int(total), []
        raw = await self.redis.hmget(self._escalations, tickets)
        return int(total), [Escalation.model_validate_json(r) for r in raw if r is not None]

    async def claim(self, ticket: str, claimant: str) -> Escalation | None:
        """Take the right to answer ``ticket``: its escalation, None when it is not open
        (unknown or expired), :class:`Taken` when it is answered or being answered."""
        keys = [self._escalations, self._answered(ticket)]
        found = await self._claim(keys=keys, args=[ticket, f"sending:{claimant}", CLAIM_TTL])
        if found[0] == 0:
            raise Taken(ticket)
        return None if found[0] == -1 else Escalation.model_validate_json(found[1])

    async def release(self, ticket: str, claimant: str) -> None:
        await self._release(keys=[self._answered(ticket)], args=[f"sending:{claimant}"])

    async def close_escalation(self, ticket: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._answered(ticket), b"sent", ex=int(self.ttl))
            pipe.hdel(self._escalations, ticket)
            pipe.zrem(self._order, ticket)
            await pipe.execute()

    # -- keys -----------------------------------------------------------------------------
    def _replies(self, customer_id: str) -> str:
        return f"{self.namespace}replies:{customer_id}"

    @property
    def _escalations(self) -> str:
        return f"{self.namespace}escalations"

    @property
    def _order(self) -> str:
        return f"{self.namespace}escalations:order"

    def _answered(self, ticket: str) -> str:
        return f"{self.namespace}answered:{ticket}"
