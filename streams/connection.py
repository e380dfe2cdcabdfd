"""Kafka client security, connection arguments and topic creation, built from settings
in one place: every aiokafka producer, consumer and admin client, and faust's consumer
group, authenticate and encrypt the same way because they all start from
:func:`client_security`."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

import faust
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.conn import create_conn
from aiokafka.errors import (
    KafkaConnectionError,
    SaslAuthenticationFailed,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)
from faust.types.auth import CredentialsT

from config import KafkaSettings
from streams.errors import ConfigurationError, UnknownTopic

# How long the look at a failed start waits for one broker to answer; a start that
# failed already waited the full request timeout.
DIAGNOSIS_TIMEOUT = 10.0


@dataclass(frozen=True)
class ClientSecurity:
    """How a client authenticates and encrypts, in aiokafka's and in faust's terms."""

    protocol: str
    ssl_context: ssl.SSLContext | None
    sasl_mechanism: str | None
    username: str | None
    password: str | None

    def aiokafka_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.ssl_context is not None:
            kwargs["ssl_context"] = self.ssl_context
        if self.sasl_mechanism is not None:
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.username
            kwargs["sasl_plain_password"] = self.password
        return kwargs

    def faust_credentials(self) -> CredentialsT | None:
        """faust's ``broker_credentials``: faust turns them back into the same aiokafka
        arguments for its consumer and producer (SASL over TLS when a context is given)."""
        if self.sasl_mechanism is not None:
            return faust.SASLCredentials(
                username=self.username,
                password=self.password,
                mechanism=self.sasl_mechanism,
                ssl_context=self.ssl_context,
            )
        if self.ssl_context is not None:
            return faust.SSLCredentials(self.ssl_context)
        return None


def client_security(kafka: KafkaSettings) -> ClientSecurity:
    """The one place where client security is built from settings."""
    protocol = kafka.security_protocol
    context = None
    if protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile:
            keyfile = str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
            context.load_cert_chain(str(kafka.ssl_certfile), keyfile)
    if not protocol.startswith("SASL"):
        return ClientSecurity(protocol, context, None, None, None)
    if kafka.sasl_username is None or kafka.sasl_password is None:
        raise ConfigurationError(
            f"security protocol {protocol} needs a user name and a password: set "
            "AGENTSTREAM_KAFKA__SASL_USERNAME and AGENTSTREAM_KAFKA__SASL_PASSWORD"
        )
    return ClientSecurity(
        protocol,
        context,
        kafka.sasl_mechanism or "PLAIN",
        kafka.sasl_username,
        kafka.sasl_password.get_secret_value(),
    )


def client_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments shared by every aiokafka producer, consumer and admin client."""
    return {
        "bootstrap_servers": kafka.bootstrap_list,
        "client_id": kafka.client_id,
        **client_security(kafka).aiokafka_kwargs(),
    }


def faust_credentials(kafka: KafkaSettings) -> CredentialsT | None:
    """faust's ``broker_credentials``, from the same place as :func:`client_kwargs`."""
    return client_security(kafka).faust_credentials()


class Startable(Protocol):
    async def start(self) -> None: ...


async def start_client(client: Startable, kafka: KafkaSettings) -> None:
    """Start an aiokafka client; when it cannot reach the cluster because of its
    credentials or TLS, raise a :class:`ConfigurationError` that says so. (aiokafka only
    logs the cause and raises "Unable to bootstrap", and faust retries such errors
    forever.)"""
    try:
        await client.start()
    except KafkaConnectionError as e:
        cause = await security_failure(kafka)
        if cause is not None:
            raise ConfigurationError(cause) from e
        raise


async def security_failure(kafka: KafkaSettings) -> str | None:
    """Why the first bootstrap server refuses these settings' authentication or TLS, or
    None when it does not (it answers, or it fails for another reason)."""
    host, _, port = kafka.bootstrap_list[0].rpartition(":")
    security = client_security(kafka)
    where = f"the Kafka broker at {host}:{port} ({security.protocol})"
    try:
        conn = await create_conn(
            host,
            int(port),
            client_id=kafka.client_id,
            request_timeout_ms=int(min(kafka.request_timeout, DIAGNOSIS_TIMEOUT) * 1000),
            **security.aiokafka_kwargs(),
        )
    except SaslAuthenticationFailed as e:
        return (
            f"authentication failed: {where} refused user {security.username!r} with "
            f"{security.sasl_mechanism} ({e}); check AGENTSTREAM_KAFKA__SASL_USERNAME, "
            "AGENTSTREAM_KAFKA__SASL_PASSWORD and AGENTSTREAM_KAFKA__SASL_MECHANISM"
        )
    except UnsupportedSaslMechanismError as e:
        return (
            f"authentication failed: {where} does not accept SASL mechanism "
            f"{security.sasl_mechanism} ({e}); check AGENTSTREAM_KAFKA__SASL_MECHANISM"
        )
    except ssl.SSLCertVerificationError as e:
        return (
            f"TLS failed: the certificate of {where} is not trusted ({e.verify_message}); "
            "check AGENTSTREAM_KAFKA__SSL_CAFILE"
        )
    except (ssl.SSLError, ConnectionResetError, KafkaConnectionError) as e:
        # A TLS client at a listener in clear, or the other way round: the broker drops
        # the connection before a single request was answered.
        return (
            f"{where} dropped the connection while it was being set up ({e!r}): does "
            "this listener speak that protocol? Check AGENTSTREAM_KAFKA__SECURITY_PROTOCOL"
        )
    except Exception:  # noqa: BLE001 - not a security failure: the caller's error stands
        return None
    conn.close()
    return None


@contextlib.asynccontextmanager
async def admin_client(kafka: KafkaSettings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A started admin client (security from :func:`client_kwargs`), closed on exit."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    try:
        await start_client(admin, kafka)
        yield admin
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def reader(
    kafka: KafkaSettings, *, read_committed: bool | None = None
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer outside any consumer group: it reads the partitions it is
    ``assign``-ed and never commits. ``read_committed`` hides records of open and
    aborted transactions (and ends reads at the last stable offset)."""
    consumer = AIOKafkaConsumer(
        group_id=None,
        enable_auto_commit=False,
        isolation_level=(
            kafka.isolation_level
            if read_committed is None
            else ("read_committed" if read_committed else "read_uncommitted")
        ),
        **client_kwargs(kafka),
    )
    try:
        await start_client(consumer, kafka)
        yield consumer
    finally:
        await consumer.stop()


def default_replication(admin: AIOKafkaAdminClient) -> int:
    """Replication 1 on a single broker, else 3 (or as many brokers as there are)."""
    return min(3, len(admin._client.cluster.brokers()) or 1)  # no public reader


async def ensure_topics(
    kafka: KafkaSettings,
    names: list[str],
    partitions: int = 1,
    config: dict[str, str] | None = None,
) -> None:
    """Create the topics that do not exist yet (replication 1 on a single broker, else 3)."""
    async with admin_client(kafka) as admin:
        replication = default_replication(admin)
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(n, partitions, replication, topic_configs=config or {})
            for n in dict.fromkeys(names)
            if n not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)


async def partitions_of(kafka: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of ``topic``; :class:`UnknownTopic` if the cluster lacks it."""
    async with admin_client(kafka) as admin:
        (described,) = await admin.describe_topics([topic])
    if described["error_code"] != 0:
        raise UnknownTopic(f"topic {topic!r} does not exist on the cluster")
    return sorted(p["partition"] for p in described["partitions"])
