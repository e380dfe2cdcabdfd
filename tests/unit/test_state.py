"""What a handler's context offers besides ``send``, without Redis or a broker: the
app's keyed state (and its argument checks) and ``forward``."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from schemas import Envelope, Message
from streams import BatchContext, ConfigurationError, Context
from streams.records import Inbound
from streams.state import KeyedState


class Hop(Message):
    n: int


def inbound(replyto: str | None) -> Inbound:
    envelope = Envelope.new("tests.Hop", "asker", replyto=replyto, correlationid="corr")
    record = Inbound("in", 0, 7, b"k", b'{"n":1}', envelope.to_headers())
    record.envelope = envelope
    return record


def headers_of(sent: tuple[Inbound, tuple[str, bytes, bytes | None, list[tuple[str, bytes]]]]):
    record, (topic, _value, key, headers) = sent
    return record, topic, key, Envelope.from_headers(headers)


async def test_forward_keeps_the_askers_reply_topic_and_send_does_not() -> None:
    record = inbound("asker.replies")
    ctx = Context("a", record, record.envelope)  # type: ignore[arg-type]
    await ctx.forward("b", Hop(n=2), key=b"k2")
    await ctx.send("audit", Hop(n=3))
    assert ctx.sent is not None
    src, topic, key, forwarded = headers_of(ctx.sent[0])
    assert (src, topic, key) == (record, "b", b"k2")
    assert (forwarded.replyto, forwarded.correlationid) == ("asker.replies", "corr")
    assert forwarded.causationid == record.envelope.id  # type: ignore[union-attr]
    _, _, _, sent = headers_of(ctx.sent[1])
    assert (sent.replyto, sent.correlationid) == (None, "corr")


async def test_a_batch_forwards_on_behalf_of_one_of_its_messages() -> None:
    records = [inbound(None), inbound("second.replies")]
    ctx = BatchContext("a", records)
    await ctx.forward("b", Hop(n=1), index=1)
    src, _, _, forwarded = headers_of(ctx.sent[0])
    assert src is records[1]
    assert forwarded.replyto == "second.replies"


def test_state_needs_a_started_app() -> None:
    record = inbound(None)
    with pytest.raises(ConfigurationError, match="started App"):
        _ = Context("a", record, record.envelope).state  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="started App"):
        _ = BatchContext("a", [record]).state
    state = KeyedState(aioredis.Redis(), "app")
    assert Context("a", record, record.envelope, state).state is state  # type: ignore[arg-type]
    assert BatchContext("a", [record], state).state is state


async def test_bad_arguments_fail_before_reaching_redis() -> None:
    client = aioredis.Redis(host="127.0.0.1", port=1)  # nothing listens: never reached
    state = KeyedState(client, "app")
    assert state.prefix == "agentstream:state:app:"
    with pytest.raises(ValueError, match="keep must be at least 1"):
        await state.append("k", 1, keep=0)
    with pytest.raises(ValueError, match="ttl must be positive"):
        await state.put("k", 1, ttl=0)
    with pytest.raises(ValueError, match="ttl must be positive"):
        await state.put_field("k", "f", 1, ttl=-1)
    with pytest.raises(TypeError):
        await state.put("k", object())  # not JSON
    await client.aclose()
