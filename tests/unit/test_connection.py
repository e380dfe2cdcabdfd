"""Client security comes from one place: what faust's consumer group connects with is
what the aiokafka producers, consumers and admin clients connect with."""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth
from pydantic import SecretStr

from config import KafkaSettings, Settings
from streams.app import faust_app
from streams.connection import client_kwargs, faust_credentials
from streams.errors import ConfigurationError
from tests.integration.secure_broker import make_certificates

SECURITY_KEYS = {"security_protocol", "ssl_context", "sasl_mechanism"}
SECURITY_KEYS |= {"sasl_plain_username", "sasl_plain_password"}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, and a certificate and key signed by it to present as a client."""
    directory = tmp_path_factory.mktemp("tls")
    cafile, _ = make_certificates(directory)
    return {
        "ssl_cafile": cafile,
        "ssl_certfile": directory / "broker.crt",
        "ssl_keyfile": directory / "broker.key",
    }


def kafka_settings(protocol: str, tls: dict[str, Path], **extra: Any) -> KafkaSettings:
    sasl = {"sasl_username": "alice", "sasl_password": SecretStr("s3cret")}
    return KafkaSettings.model_validate(
        {
            "security_protocol": protocol,
            **(sasl if protocol.startswith("SASL") else {}),
            **(tls if protocol.endswith("SSL") else {}),
            **extra,
        }
    )


def summary(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The security arguments of a client, with the TLS context reduced to what it
    trusts, what it presents and how it checks the broker."""
    found = {k: v for k, v in kwargs.items() if k in SECURITY_KEYS}
    context = found.pop("ssl_context", None)
    if context is not None:
        assert isinstance(context, ssl.SSLContext)
        found["tls"] = (
            context.verify_mode,
            context.check_hostname,
            context.get_ca_certs(),
            context.cert_store_stats(),
        )
    return found


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        ("PLAINTEXT", None),
        ("SSL", None),
        ("SASL_PLAINTEXT", "SCRAM-SHA-512"),
        ("SASL_SSL", "SCRAM-SHA-512"),
        ("SASL_SSL", "SCRAM-SHA-256"),
        ("SASL_SSL", None),
    ],
)
def test_faust_connects_as_every_other_client(
    protocol: str, mechanism: str | None, tls: dict[str, Path]
) -> None:
    kafka = kafka_settings(protocol, tls, sasl_mechanism=mechanism)
    aiokafka = summary(client_kwargs(kafka))
    # What faust's consumer and producer receive, through faust's own translation.
    faust = summary(credentials_to_aiokafka_auth(faust_credentials(kafka)))

    assert faust == aiokafka
    assert aiokafka["security_protocol"] == protocol
    assert ("tls" in aiokafka) == protocol.endswith("SSL")


def test_a_sasl_ssl_consumer_group_uses_tls_and_the_given_ca(tls: dict[str, Path]) -> None:
    kafka = kafka_settings("SASL_SSL", tls, sasl_mechanism="SCRAM-SHA-512")
    fapp = faust_app("secure", Settings(kafka=kafka))

    auth = credentials_to_aiokafka_auth(fapp.conf.broker_credentials)

    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("alice", "s3cret")
    context = auth["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "agentstream test CA"),),)
    ]


@pytest.mark.parametrize("missing", ["sasl_username", "sasl_password"])
def test_sasl_without_a_user_or_password_is_refused_clearly(
    missing: str, tls: dict[str, Path]
) -> None:
    kafka = kafka_settings("SASL_SSL", tls, sasl_mechanism="SCRAM-SHA-512")
    incomplete = kafka.model_copy(update={missing: None})
    with pytest.raises(ConfigurationError, match="AGENTSTREAM_KAFKA__SASL_PASSWORD"):
        client_kwargs(incomplete)
    with pytest.raises(ConfigurationError, match="needs a user name and a password"):
        faust_credentials(incomplete)
