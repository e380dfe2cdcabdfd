"""An app that moves every ``agentstream_*`` metric: an agent in windows, a cache with
all three levels, and events that fail on request (errors and dead letters)."""

from __future__ import annotations

import asyncio

from config import Settings
from schemas import Message
from streams import App, Batch, Context


class Job(Message):
    id: str
    n: int = 0
    fail: bool = False


class Done(Message):
    id: str
    square: int


def build(mailbox: str) -> App:
    app = App(f"app-{mailbox}", Settings(), partitions=1)
    squares = app.cache(f"squares-{mailbox}")

    @app.agent(mailbox, batch=Batch(max_size=50, within=0.1))
    async def work(msg: Job, ctx: Context) -> Done:
        if msg.fail:
            raise ValueError(f"{msg.id} asked to fail")

        async def square() -> int:
            await asyncio.sleep(0.001)
            return msg.n * msg.n

        return Done(id=msg.id, square=await squares.get_or_compute(str(msg.n), square))

    return app
