"""A minimal agent end to end on the real broker: produce -> agent -> reply topic."""

from __future__ import annotations

import os

from config import Settings
from schemas import Envelope, Message
from streams.app import App
from streams.context import Context
from tests.integration.helpers import collect, event, produce


class Ping(Message):
    n: int
    text: str


class Pong(Message):
    n: int
    text: str


async def test_every_message_comes_back_exactly(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    async def echo(msg: Ping, ctx: Context) -> Pong:
        return Pong(n=msg.n, text=msg.text)

    sent = [Ping(n=i, text=f"héllo {i}") for i in range(500)]
    inputs = [event(m) for m in sent]
    async with app.running():
        await produce(
            settings, topic, [(str(i % 7).encode(), v, h) for i, (v, h) in enumerate(inputs)]
        )
        replies = await collect(settings, f"{topic}.replies", len(sent))

    assert len(replies) == len(sent)
    got = sorted((Pong.model_validate_json(r.value) for r in replies), key=lambda p: p.n)
    assert [(p.n, p.text) for p in got] == [(m.n, m.text) for m in sent]
    input_ids = {Envelope.from_headers(h).id for _, h in inputs}
    causes = {Envelope.from_headers(r.headers).causationid for r in replies}
    assert causes == input_ids
    # faust's data directory (for tables, which we keep none of) is not left in the
    # working directory.
    assert not os.path.exists(f"{app.id}-data")  # noqa: ASYNC240 - one stat, after the run
