"""An agent app for multi-process tests, built per test with its own mailbox."""

from __future__ import annotations

import os

import redis.asyncio as aioredis

from config import Settings
from schemas import Message
from streams import App, Batch, Context


class Work(Message):
    id: str
    fail: bool = False


class Result(Message):
    id: str
    worker: int


def build(mailbox: str, *, partitions: int, idempotent: bool = False) -> App:
    """Each handled event increments ``sidefx:<mailbox>:<id>`` in Redis, a side effect
    whose count shows how often the handler ran for that event."""
    settings = Settings()
    app = App(f"app-{mailbox}", settings, partitions=partitions)
    redis = aioredis.Redis.from_url(settings.redis.url)

    @app.agent(mailbox, batch=Batch(max_size=200, within=0.2), idempotent=idempotent)
    async def work(msg: Work, ctx: Context) -> Result:
        if msg.fail:
            raise ValueError(f"{msg.id} asked to fail")
        await redis.incr(f"sidefx:{mailbox}:{msg.id}")
        return Result(id=msg.id, worker=os.getpid())

    return app
