"""A private broker that clients reach only through SCRAM-SHA-512, over TLS (SASL_SSL) or
without it (SASL_PLAINTEXT, on another port), with a CA and a broker certificate made
for it by ``openssl``. The shared broker is never touched."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import subprocess
from pathlib import Path
from typing import Literal

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from config import KafkaSettings, Settings
from streams.connection import client_kwargs
from tests.chaos.cluster import PrivateKafka
from tests.integration.processes import free_port

MECHANISM = "SCRAM-SHA-512"
ADMIN = "broker"  # the broker's own user, for its inter-broker listener (SASL_SSL)
USER = "alice"  # the user the tests' apps and clients run as
SecureProtocol = Literal["SASL_SSL", "SASL_PLAINTEXT"]

SECURITY_PROPERTIES = """
# Clients reach the broker only through SCRAM-SHA-512: over TLS on one port, in clear on
# another; the broker itself talks to its own listener over TLS.
listeners=SASL_SSL://127.0.0.1:{tls_port},SASL_PLAINTEXT://127.0.0.1:{plain_port},\
CONTROLLER://{controller}
advertised.listeners=SASL_SSL://127.0.0.1:{tls_port},SASL_PLAINTEXT://127.0.0.1:{plain_port}
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL,\
SASL_PLAINTEXT:SASL_PLAINTEXT
inter.broker.listener.name=SASL_SSL
sasl.enabled.mechanisms={mechanism}
sasl.mechanism.inter.broker.protocol={mechanism}
listener.name.sasl_ssl.{login}
listener.name.sasl_plaintext.{login}
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={cafile}
"""
LOGIN = (
    "{mechanism_lower}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule "
    'required username="{user}" password="{password}";'
)


class SecureKafka(PrivateKafka):
    """``kafka(protocol)`` gives the client settings of each listener; the users and
    their passwords are created when the storage is formatted, as KRaft requires."""

    def __init__(self, settings: Settings, home: Path) -> None:
        super().__init__(settings, home)
        self.tls_port = self.port
        self.plain_port = free_port()
        self.passwords = {ADMIN: secrets.token_urlsafe(16), USER: secrets.token_urlsafe(16)}
        self.cafile, self.keystore = make_certificates(self.home / "tls")

    def kafka(
        self, protocol: SecureProtocol, *, user: str = USER, password: str | None = None
    ) -> KafkaSettings:
        """Client settings for the listener of ``protocol``, as ``user`` (with the right
        password unless another is given)."""
        port = self.tls_port if protocol == "SASL_SSL" else self.plain_port
        return KafkaSettings(
            **{
                **self.settings.kafka.model_dump(),
                "bootstrap_servers": f"127.0.0.1:{port}",
                "security_protocol": protocol,
                "sasl_mechanism": MECHANISM,
                "sasl_username": user,
                "sasl_password": SecretStr(password or self.passwords[user]),
                "ssl_cafile": self.cafile if protocol == "SASL_SSL" else None,
            }
        )

    def java(self, main: str, *args: str, heap: str | None = None) -> list[str]:
        """Formatting the storage also creates the users (``--add-scram``)."""
        if main == "kafka.tools.StorageTool":
            users = (f"{MECHANISM}=[name={u},password={p}]" for u, p in self.passwords.items())
            args = (*args, *(arg for user in users for arg in ("--add-scram", user)))
        return super().java(main, *args, heap=heap)

    def _write_config(self) -> None:
        super()._write_config()
        login = LOGIN.format(
            mechanism_lower=MECHANISM.lower(), user=ADMIN, password=self.passwords[ADMIN]
        )
        security = SECURITY_PROPERTIES.format(
            tls_port=self.tls_port,
            plain_port=self.plain_port,
            controller=f"127.0.0.1:{self.controller_port}",
            mechanism=MECHANISM,
            login=login,
            keystore=self.keystore,
            cafile=self.cafile,
        )
        # Later keys win in a properties file: these replace the plaintext listeners.
        with (self.home / "server.properties").open("a") as config:
            config.write(security)

    def answers(self) -> bool:
        """True when the broker answers a metadata request. Asked in clear: a TLS
        connection refused while the broker starts may still be closing when the probe's
        event loop ends, and its socket would be left open."""
        return asyncio.run(_answers_metadata(self.kafka("SASL_PLAINTEXT", user=ADMIN)))


async def _answers_metadata(kafka: KafkaSettings) -> bool:
    client = AIOKafkaClient(request_timeout_ms=5000, **client_kwargs(kafka))
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()


def make_certificates(directory: Path) -> tuple[Path, Path]:
    """A CA and a certificate for 127.0.0.1 and localhost signed by it: returns the CA's
    certificate and the broker's PEM key store (key, then certificate chain)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise AssertionError("openssl not found on PATH (apt-get install openssl)")
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        directory / n for n in ("ca.key", "ca.pem", "broker.key", "broker.csr", "broker.crt")
    )
    extensions = directory / "broker.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth,clientAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    new_key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"]

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)  # noqa: S603 - our argv

    run("req", "-x509", *new_key, "-keyout", str(ca_key), "-out", str(ca), "-days", "2",
        "-subj", "/CN=agentstream test CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", *new_key, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-days", "2",
        "-CAcreateserial", "-extfile", str(extensions), "-out", str(cert))  # fmt: skip
    keystore = directory / "broker.pem"
    keystore.write_text(key.read_text() + cert.read_text() + ca.read_text())
    return ca, keystore
