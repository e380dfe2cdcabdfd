"""``ctx.forward``: a request handed along a chain of agents is answered by the last one,
straight to the original asker."""

from __future__ import annotations

from config import Settings
from schemas import Envelope, Message
from streams import App, BatchContext, Client, Context, RequestTimeout, UnknownTopic
from tests.integration.helpers import collect


class Hop(Message):
    path: list[str]


def test_forwarded_headers_keep_the_reply_topic_and_the_correlation_id() -> None:
    request = Envelope.new("tests.Hop", "asker", replyto="asker.replies", correlationid="c-1")
    forwarded = Envelope.from_headers(request.successor_headers("tests.Hop", "a", forward=True))
    sent = Envelope.from_headers(request.successor_headers("tests.Hop", "a"))
    assert (forwarded.replyto, forwarded.correlationid) == ("asker.replies", "c-1")
    assert forwarded.causationid == request.id
    assert (sent.replyto, sent.correlationid) == (None, "c-1")
    plain = Envelope.new("tests.Hop", "asker")
    unasked = Envelope.from_headers(plain.successor_headers("tests.Hop", "a", forward=True))
    assert unasked.replyto is None


async def test_the_last_agent_of_a_chain_answers_the_asker(settings: Settings, topic: str) -> None:
    a, b, c = f"{topic}-a", f"{topic}-b", f"{topic}-c"
    app = App(f"app-{topic}", settings)

    @app.agent(a)
    async def first(msg: Hop, ctx: Context) -> None:
        await ctx.forward(b, Hop(path=[*msg.path, "a"]), key=ctx.key)

    @app.agent(b)
    async def second(batch: list[Hop], ctx: BatchContext) -> list[None]:
        for i, msg in enumerate(batch):
            await ctx.forward(c, Hop(path=[*msg.path, "b"]), index=i)
            await ctx.send(f"{topic}-audit", Hop(path=msg.path), index=i)
        return [None] * len(batch)

    @app.agent(c)
    async def third(msg: Hop, ctx: Context) -> Hop:
        return Hop(path=[*msg.path, "c"])

    @app.agent(f"{topic}-audit")
    async def audit(msg: Hop, ctx: Context) -> Hop:
        return Hop(path=[*msg.path, "audited"])

    async with app.running(), Client(settings) as client:
        reply, asked = None, 0
        for _ in range(30):  # the agents need a few seconds to join their group
            asked += 1
            try:
                reply = await client.ask(a, Hop(path=[]), key=b"k", timeout=2)
                break
            except (RequestTimeout, UnknownTopic):
                continue
        assert reply is not None
        assert reply.parse(Hop).path == ["a", "b", "c"]
        again = await client.ask(a, Hop(path=["x"]), timeout=10)
        assert again.parse(Hop).path == ["x", "a", "b", "c"]
        # What b sent (not forwarded) was answered on the audit agent's own reply topic,
        # once per request (the ones that timed out while the group formed included).
        audited = await collect(settings, f"{topic}-audit.replies", asked + 1)

    assert len(audited) == asked + 1
    assert ["x", "a", "audited"] in [Hop.model_validate_json(r.value).path for r in audited]
    assert all(Envelope.from_headers(r.headers).replyto is None for r in audited)
