"""aiokafka connection arguments and topic creation, built from settings in one place."""

from __future__ import annotations

import contextlib
import ssl
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from config import KafkaSettings
from streams.errors import UnknownTopic


def client_kwargs(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments shared by every aiokafka producer, consumer and admin client."""
    kwargs: dict[str, Any] = {
        "bootstrap_servers": kafka.bootstrap_list,
        "client_id": kafka.client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(
            cafile=str(kafka.ssl_cafile) if kafka.ssl_cafile else None
        )
        if kafka.ssl_certfile:
            keyfile = str(kafka.ssl_keyfile) if kafka.ssl_keyfile else None
            context.load_cert_chain(str(kafka.ssl_certfile), keyfile)
        kwargs["ssl_context"] = context
    if kafka.security_protocol.startswith("SASL"):
        kwargs["sasl_mechanism"] = kafka.sasl_mechanism or "PLAIN"
        kwargs["sasl_plain_username"] = kafka.sasl_username
        if kafka.sasl_password is not None:
            kwargs["sasl_plain_password"] = kafka.sasl_password.get_secret_value()
    return kwargs


async def ensure_topics(
    kafka: KafkaSettings,
    names: list[str],
    partitions: int = 1,
    config: dict[str, str] | None = None,
) -> None:
    """Create the topics that do not exist yet (replication 1 on a single broker, else 3)."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    await admin.start()
    try:
        brokers = len(admin._client.cluster.brokers()) or 1
        replication = min(3, brokers)
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(n, partitions, replication, topic_configs=config or {})
            for n in dict.fromkeys(names)
            if n not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def partitions_of(kafka: KafkaSettings, topic: str) -> list[int]:
    """The partition numbers of ``topic``; :class:`UnknownTopic` if the cluster lacks it."""
    admin = AIOKafkaAdminClient(**client_kwargs(kafka))
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        raise UnknownTopic(f"topic {topic!r} does not exist on the cluster")
    return sorted(p["partition"] for p in described["partitions"])
