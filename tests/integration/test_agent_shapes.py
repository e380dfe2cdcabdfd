"""The three agent shapes (function, batch, routed class) and fan-out with ctx.send."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from config import Settings
from schemas import Envelope, Message
from streams import App, Batch, BatchContext, Context, handler
from streams.connection import ensure_topics
from tests.integration.helpers import collect, event, produce


class Inquiry(Message):
    n: int


class Complaint(Message):
    n: int
    severity: int


class Answer(Message):
    n: int


class Ticket(Message):
    n: int
    priority: str


class Note(Message):
    n: int


def _types(records: list[ConsumerRecord]) -> list[str]:
    return [Envelope.from_headers(r.headers).type for r in records]


async def test_routed_agent_dispatches_by_ce_type(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    class Support:
        @handler
        async def answer(self, msg: Inquiry, ctx: Context) -> Answer:
            return Answer(n=msg.n)

        @handler
        async def escalate(self, msg: Complaint, ctx: Context) -> Ticket:
            return Ticket(n=msg.n, priority="high" if msg.severity > 2 else "normal")

    inputs = [event(Inquiry(n=0)), event(Complaint(n=1, severity=3)), event(Inquiry(n=2))]
    async with app.running():
        await produce(settings, topic, [(b"k", v, h) for v, h in inputs])
        replies = await collect(settings, f"{topic}.replies", 3)
    assert _types(replies) == [Answer.message_type, Ticket.message_type, Answer.message_type]
    assert Ticket.model_validate_json(replies[1].value) == Ticket(n=1, priority="high")


async def test_function_agent_with_a_union_takes_each_type(settings: Settings, topic: str) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    async def either(msg: Inquiry | Complaint, ctx: Context) -> Answer:
        return Answer(n=msg.n * (10 if isinstance(msg, Complaint) else 1))

    async with app.running():
        await produce(
            settings,
            topic,
            [(b"k", *event(Inquiry(n=1))), (b"k", *event(Complaint(n=2, severity=1)))],
        )
        replies = await collect(settings, f"{topic}.replies", 2)
    assert [Answer.model_validate_json(r.value).n for r in replies] == [1, 20]


async def test_batch_agent_gets_windows_and_may_skip_results(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)
    sizes: list[int] = []

    @app.agent(topic, batch=Batch(max_size=50, within=0.5))
    async def tally(batch: list[Inquiry], ctx: BatchContext) -> list[Answer | None]:
        sizes.append(len(batch))
        assert [e.id for e in ctx.envelopes] == [r.envelope.id for r in ctx.records if r.envelope]
        return [Answer(n=m.n) if m.n % 2 == 0 else None for m in batch]

    inputs = [event(Inquiry(n=i)) for i in range(200)]
    await produce(settings, topic, [(b"k", v, h) for v, h in inputs])  # buffered first
    async with app.running():
        replies = await collect(settings, f"{topic}.replies", 100)
        extra = await collect(settings, f"{topic}.replies", 101, wait=1.0)
    assert sorted(Answer.model_validate_json(r.value).n for r in replies) == list(range(0, 200, 2))
    assert len(extra) == 100  # odd ones produced nothing
    assert sum(sizes) == 200
    assert max(sizes) == 50
    causes = {Envelope.from_headers(r.headers).causationid for r in replies}
    assert causes == {Envelope.from_headers(h).id for _, h in inputs[::2]}


async def test_a_batch_handler_with_the_wrong_count_dead_letters_its_batch(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic, batch=Batch(max_size=10, within=0.5))
    async def short(batch: list[Inquiry], ctx: BatchContext) -> list[Answer | None]:
        return [Answer(n=m.n) for m in batch[1:]]

    await produce(settings, topic, [(b"k", *event(Inquiry(n=i))) for i in range(10)])
    async with app.running():
        dead = await collect(settings, f"{topic}.dlq", 10)
    assert len(dead) == 10
    message = dict(dead[0].headers)["dlq.error.message"].decode()
    assert "returned 9 results for 10 messages" in message


async def test_fan_out_with_ctx_send_carries_correlation_and_causation(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)
    notes = f"{topic}.notes"
    await ensure_topics(settings.kafka, [notes], 1)

    @app.agent(topic)
    async def fan(msg: Inquiry, ctx: Context) -> Answer:
        await ctx.send(notes, Note(n=msg.n), key=b"note")
        await ctx.send(notes, Note(n=msg.n + 100))
        return Answer(n=msg.n)

    value, headers = event(Inquiry(n=7), correlationid="conversation-7")
    cause = Envelope.from_headers(headers)
    async with app.running():
        await produce(settings, topic, [(b"k", value, headers)])
        sent = await collect(settings, notes, 2)
        replies = await collect(settings, f"{topic}.replies", 1)
    assert sorted(Note.model_validate_json(r.value).n for r in sent) == [7, 107]
    for record in [*sent, *replies]:
        envelope = Envelope.from_headers(record.headers)
        assert (envelope.correlationid, envelope.causationid) == ("conversation-7", cause.id)
        assert envelope.source == "fan"
    assert sent[0].key == b"note"
