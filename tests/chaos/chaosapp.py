"""The app the chaos scenarios run in worker processes.

Every event carries its id, its key and its sequence number within the key, so the
verifier can tell lost, duplicated and reordered outcomes apart. The handler records a
side effect per id in Redis (``INCR``), which shows how often it really ran for an event,
and can be told to sleep (a slow key, a slow agent) or to fail (a dead letter).
"""

from __future__ import annotations

import asyncio
import os

import redis.asyncio as aioredis

from config import Settings
from schemas import Message
from streams import App, Batch, Context
from streams.app import Guarantee


class Job(Message):
    id: str
    key: str
    seq: int
    fail: bool = False
    sleep: float = 0.0


class Done(Message):
    id: str
    key: str
    seq: int
    worker: int


def side_effect_key(mailbox: str, event_id: str) -> str:
    return f"chaos:sidefx:{mailbox}:{event_id}"


def build(
    app_id: str,
    mailboxes: dict[str, bool],
    *,
    partitions: int = 12,
    backlog: int | None = None,
    guarantee: Guarantee = "at_least_once",
) -> App:
    """One agent per mailbox (``{mailbox: idempotent}``), all in one consumer group."""
    settings = Settings()
    app = App(app_id, settings, partitions=partitions, guarantee=guarantee)
    redis = aioredis.Redis.from_url(settings.redis.url)
    for i, (mailbox, idempotent) in enumerate(mailboxes.items()):
        _declare(app, redis, mailbox, f"work{i}", idempotent=idempotent, backlog=backlog)
    return app


def _declare(
    app: App,
    redis: aioredis.Redis,
    mailbox: str,
    name: str,
    *,
    idempotent: bool,
    backlog: int | None,
) -> None:
    @app.agent(
        mailbox,
        name=name,
        batch=Batch(max_size=200, within=0.2),
        backlog=backlog,
        idempotent=idempotent,
    )
    async def work(msg: Job, ctx: Context) -> Done:
        if msg.sleep:
            await asyncio.sleep(msg.sleep)
        if msg.fail:
            raise ValueError(f"{msg.id} asked to fail")
        await redis.incr(side_effect_key(mailbox, msg.id))
        return Done(id=msg.id, key=msg.key, seq=msg.seq, worker=os.getpid())


def module_source(
    app_id: str,
    mailboxes: dict[str, bool],
    *,
    backlog: int | None = None,
    guarantee: Guarantee = "at_least_once",
) -> str:
    """The ``testapp`` module a worker process loads."""
    return (
        "from tests.chaos.chaosapp import build\n"
        f"app = build({app_id!r}, {mailboxes!r}, backlog={backlog!r}, guarantee={guarantee!r})\n"
    )
