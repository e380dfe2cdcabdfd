"""Apps and clients on a broker that takes only SCRAM-SHA-512, over TLS or in clear: every
client (admin, producer, faust's consumer group, ``Client``) connects with the same
security, and wrong credentials or an untrusted certificate stop the start with an error
that says so."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from config import Settings
from schemas import Envelope, Message
from streams import App, Client, ConfigurationError, Context
from streams.connection import ensure_topics
from tests.integration.helpers import collect, event, produce
from tests.integration.secure_broker import SecureKafka, SecureProtocol

BOUND = 30.0  # seconds a refused start may take at most (it takes well under one)


class Ping(Message):
    n: int


class Pong(Message):
    n: int


@pytest.fixture(scope="module")
async def secure(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[SecureKafka]:
    broker = SecureKafka(settings, tmp_path_factory.mktemp("secure-broker"))
    await broker.start()
    try:
        yield broker
    finally:
        await broker.stop()


def with_kafka(settings: Settings, broker: SecureKafka, protocol: SecureProtocol) -> Settings:
    """The shared Redis, the private broker's listener of ``protocol``."""
    return settings.model_copy(update={"kafka": broker.kafka(protocol)})


async def round_trip(settings: Settings, mailbox: str, count: int) -> None:
    """An agent answers every event produced to its mailbox and a ``Client.ask``."""
    app = App(f"app-{mailbox}", settings)

    @app.agent(mailbox)
    async def echo(msg: Ping, ctx: Context) -> Pong:
        return Pong(n=msg.n)

    inputs = [event(Ping(n=i)) for i in range(count)]
    async with app.running():
        await produce(
            settings, mailbox, [(b"k%d" % (i % 3), v, h) for i, (v, h) in enumerate(inputs)]
        )
        replies = await collect(settings, f"{mailbox}.replies", count, wait=30)
        async with Client(settings) as client:
            answer = await client.ask(mailbox, Ping(n=-1), timeout=20)

    assert sorted(Pong.model_validate_json(r.value).n for r in replies) == list(range(count))
    causes = {Envelope.from_headers(r.headers).causationid for r in replies}
    assert causes == {Envelope.from_headers(h).id for _, h in inputs}
    assert answer.parse(Pong).n == -1


async def test_sasl_ssl_app_and_client_round_trip_over_tls(
    settings: Settings, secure: SecureKafka, unique: str
) -> None:
    tls = with_kafka(settings, secure, "SASL_SSL")
    # The port speaks only TLS: a client in clear is turned away, so whatever gets
    # through below (topic creation, producers, the consumer group, the client's
    # private reply topic) went over TLS.
    in_clear = tls.kafka.model_copy(update={"security_protocol": "SASL_PLAINTEXT"})
    with pytest.raises(ConfigurationError, match="dropped the connection"):
        async with asyncio.timeout(BOUND):
            await ensure_topics(in_clear, [f"never-{unique}"])

    await round_trip(tls, f"tls-{unique}", 30)


async def test_sasl_plaintext_app_and_client_round_trip(
    settings: Settings, secure: SecureKafka, unique: str
) -> None:
    await round_trip(with_kafka(settings, secure, "SASL_PLAINTEXT"), f"plain-{unique}", 5)


@pytest.mark.parametrize("protocol", ["SASL_SSL", "SASL_PLAINTEXT"])
async def test_a_wrong_password_stops_the_start_with_an_authentication_error(
    settings: Settings, secure: SecureKafka, unique: str, protocol: SecureProtocol
) -> None:
    kafka = secure.kafka(protocol, password="not-the-password")  # noqa: S106
    app = App(f"app-{unique}", settings.model_copy(update={"kafka": kafka}))

    @app.agent(f"denied-{unique}")
    async def echo(msg: Ping, ctx: Context) -> Pong:
        return Pong(n=msg.n)

    refused = r"authentication failed: .* refused user 'alice' with SCRAM-SHA-512"
    with pytest.raises(ConfigurationError, match=refused):
        async with asyncio.timeout(BOUND):
            await app.start()
    # A client says the same at its start.
    with pytest.raises(ConfigurationError, match=refused):
        async with asyncio.timeout(BOUND):
            await Client(settings.model_copy(update={"kafka": kafka})).start()


async def test_an_untrusted_broker_certificate_stops_the_start_with_a_tls_error(
    settings: Settings, secure: SecureKafka, unique: str
) -> None:
    kafka = secure.kafka("SASL_SSL").model_copy(update={"ssl_cafile": None})
    with pytest.raises(ConfigurationError, match=r"certificate of .* is not trusted"):
        async with asyncio.timeout(BOUND):
            await ensure_topics(kafka, [f"never-{unique}"])
