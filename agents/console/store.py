"""What gateway replicas share, in Redis: the replies each customer got (for the chat
page) and the open escalations (for the console).

Keys, under ``console:<prefix>:``::

    replies:<customer id>   list of reply JSON, the last ``keep``, expiring ``ttl`` after
                            the last one
    reply:<event id>        set when a reply is kept, for ``ttl``: a reply read twice
                            (delivery is at least once) is kept once
    escalations             hash ticket -> Escalation JSON, the open ones
    answered:<ticket>       set when a ticket is answered, for ``ttl``, so that an
                            escalation read again (a consumer restart) is not reopened
"""

from __future__ import annotations

from typing import Any

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
return 1
"""


class ConsoleStore:
    """Replies per customer and open escalations, shared by every gateway replica."""

    def __init__(self, redis: aioredis.Redis, prefix: str, *, keep: int, ttl: float) -> None:
        self.redis = redis
        self.namespace = f"console:{prefix}:"
        self.keep = keep
        self.ttl = ttl
        self._open = redis.register_script(_OPEN)
        self._add_reply = redis.register_script(_ADD_REPLY)

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
        keys = [self._escalations, self._answered(escalation.ticket)]
        args = [escalation.ticket, escalation.model_dump_json()]
        return bool(await self._open(keys=keys, args=args))

    async def escalation(self, ticket: str) -> Escalation | None:
        raw = await self.redis.hget(self._escalations, ticket)
        return None if raw is None else Escalation.model_validate_json(raw)

    async def escalations(self) -> list[Escalation]:
        """The open escalations, most urgent first, then oldest first."""
        raw = await self.redis.hvals(self._escalations)
        found = [Escalation.model_validate_json(r) for r in raw]
        rank = {"critical": 0, "high": 1, "normal": 2, "low": 3}
        return sorted(found, key=lambda e: (rank[e.urgency], e.received_at))

    async def close_escalation(self, ticket: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._answered(ticket), b"1", ex=int(self.ttl))
            pipe.hdel(self._escalations, ticket)
            await pipe.execute()

    # -- keys -----------------------------------------------------------------------------
    def _replies(self, customer_id: str) -> str:
        return f"{self.namespace}replies:{customer_id}"

    @property
    def _escalations(self) -> str:
        return f"{self.namespace}escalations"

    def _answered(self, ticket: str) -> str:
        return f"{self.namespace}answered:{ticket}"
