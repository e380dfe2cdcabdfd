"""Every kind of bad input becomes exactly one dead letter with the right stage, and the
events after it on the same partition are still handled."""

from __future__ import annotations

from config import Settings
from schemas import Envelope, Message
from streams import App, Context
from tests.integration.helpers import collect, event, produce


class Order(Message):
    id: int


class Confirmed(Message):
    id: int


def _headers(ce_type: str, replyto: str | None = None) -> list[tuple[str, bytes]]:
    return Envelope.new(ce_type, "tests", replyto=replyto).to_headers()


async def test_bad_input_is_dead_lettered_and_the_partition_moves_on(
    settings: Settings, topic: str
) -> None:
    app = App(f"app-{topic}", settings)

    @app.agent(topic)
    async def confirm(msg: Order, ctx: Context) -> Confirmed:
        return Confirmed(id=msg.id)

    t = Order.message_type
    bad: list[tuple[str, bytes | None, list[tuple[str, bytes]]]] = [
        ("decode", b"{not json", _headers(t)),
        ("decode", b'{"id": "\xff\xfe"}', _headers(t)),
        ("decode", b'{"id": 1, "pad": "' + b"x" * (5 * 1024 * 1024) + b'"}', _headers(t)),
        ("decode", b"[" * 100_000 + b"]" * 100_000, _headers(t)),
        ("validate", b'{"id": "not a number"}', _headers(t)),
        ("validate", b'{"id": 1, "unexpected": true}', _headers(t)),
        ("dispatch", b'{"id": 1}', _headers("nobody.Handles")),
        ("decode", b'{"id": 1}', []),
        ("decode", b'{"id": 1}', [("ce_type", t.encode()), ("ce_source", b"x")]),
        ("decode", None, _headers(t)),
        # A reply topic the broker does not have (a client that gave up and deleted it).
        ("produce", b'{"id": 1}', _headers(t, replyto=f"{topic}.nowhere")),
    ]
    records: list[tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]] = []
    for i, (_, value, headers) in enumerate(bad):
        records.append((b"same-key", value, [*headers, ("case", str(i).encode())]))
        good_value, good_headers = event(Order(id=i))
        records.append((b"same-key", good_value, good_headers))

    async with app.running():
        await produce(settings, topic, records)
        replies = await collect(settings, f"{topic}.replies", len(bad))
        dead = await collect(settings, f"{topic}.dlq", len(bad))

    assert sorted(Confirmed.model_validate_json(r.value).id for r in replies) == list(
        range(len(bad))
    )
    assert len(dead) == len(bad)
    by_case = {int(dict(d.headers)["case"]): d for d in dead}
    for i, (stage, value, _) in enumerate(bad):
        headers = dict(by_case[i].headers)
        assert headers["dlq.stage"].decode() == stage, (i, headers["dlq.error.message"])
        assert by_case[i].value == value
        assert headers["dlq.original.topic"].decode() == topic
