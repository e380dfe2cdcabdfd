"""Apache Kafka 4.x as a single-node KRaft broker on 127.0.0.1, from Maven Central jars.

The jars are resolved once by Maven (config/kafka/pom.xml) into ``<home>/kafka/jars-<ver>``;
``up`` formats the storage on first use, starts ``kafka.Kafka`` and waits until the broker
answers a metadata request. Log and data live under ``<home>/kafka``.
"""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
import socket
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaClient
from aiokafka.errors import KafkaError

import config
from config import Settings
from streams.tools.local.process import Daemon, LocalServiceError, require_executable

KAFKA_CONFIG_DIR = Path(config.__file__).resolve().parent / "kafka"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Short names for the command-line tools shipped in the same jars.
TOOLS = {
    "producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "topics": "org.apache.kafka.tools.TopicCommand",
    "consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "console-producer": "org.apache.kafka.tools.ConsoleProducer",
}


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    version: str | None
    home: Path


class LocalKafka:
    """The project's own local broker; every method is idempotent."""

    def __init__(self, settings: Settings) -> None:
        self.version = settings.local.kafka_version
        self.home = settings.local.home.resolve() / "kafka"
        self.heap = settings.local.kafka_heap
        self.timeout = settings.local.start_timeout
        self.controller_port = settings.local.controller_port
        self.bootstrap = settings.kafka.bootstrap_list[0]
        host, _, port = self.bootstrap.rpartition(":")
        self.host, self.port = host, int(port)
        self.jars = self.home / f"jars-{self.version}"
        self.data = self.home / "data"
        self.daemon = Daemon("kafka", self.home / "broker.pid", self.home / "broker.log")

    # -- jars ---------------------------------------------------------------------------
    def fetch(self) -> Path:
        """Resolve the broker and tools jars with Maven (cached after the first run)."""
        marker = self.jars / ".complete"
        if marker.exists():
            return self.jars
        mvn = require_executable("mvn", "Install Maven (apt-get install maven) to fetch Kafka.")
        require_executable("java", "Install Java 17+ (apt-get install openjdk-17-jre-headless).")
        self.jars.mkdir(parents=True, exist_ok=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(KAFKA_CONFIG_DIR / "pom.xml"),
            "dependency:copy-dependencies", "-DincludeScope=runtime",
            f"-Dkafka.version={self.version}", f"-DoutputDirectory={self.jars}",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not any(self.jars.glob("kafka_2.13-*.jar")):
            raise LocalServiceError(
                f"Maven could not resolve Apache Kafka {self.version} "
                f"(exit {result.returncode}):\n{result.stdout[-4000:]}{result.stderr[-4000:]}"
            )
        marker.write_text(self.version)
        return self.jars

    def java(self, main: str, *args: str, heap: str | None = None) -> list[str]:
        """The command line that runs ``main`` from the Kafka jars."""
        java = require_executable("java", "Install Java 17+ to run Kafka.")
        opts = [f"-Xmx{heap}", f"-Xms{heap}"] if heap else []
        return [
            java, *opts, "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={KAFKA_CONFIG_DIR / 'log4j2.properties'}",
            "-cp", f"{self.fetch()}/*", main, *args,
        ]  # fmt: skip

    def tool(self, name: str, args: list[str]) -> int:
        """Run a Kafka command-line tool (``producer-perf-test`` ...) in the foreground."""
        return subprocess.call(self.java(TOOLS.get(name, name), *args))

    # -- lifecycle ----------------------------------------------------------------------
    def up(self) -> BrokerStatus:
        if self.host not in LOCAL_HOSTS:
            raise LocalServiceError(
                f"bootstrap servers point at {self.bootstrap}; the local broker only runs on "
                "127.0.0.1. Unset AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS to use it."
            )
        if self.daemon.pid() is None:
            if self.answers():
                raise LocalServiceError(
                    f"something not started by agentstream already listens on {self.bootstrap}"
                )
            self.fetch()
            self._write_config()
            self._format()
            self.daemon.spawn(self.java("kafka.Kafka", str(self.home / "server.properties"),
                                        heap=self.heap), cwd=self.home)  # fmt: skip
        self.daemon.wait_until(self.answers, self.timeout)
        return self.status()

    def down(self) -> bool:
        return self.daemon.stop()

    def reset(self) -> bool:
        """Stop the broker and delete its data: every topic, record and committed offset.
        The next ``up`` formats a fresh log directory. True if there was data."""
        self.down()
        if not self.data.exists():
            return False
        shutil.rmtree(self.data)
        return True

    def status(self) -> BrokerStatus:
        pid = self.daemon.pid()
        return BrokerStatus(
            running=pid is not None and self.answers(),
            pid=pid,
            bootstrap=self.bootstrap,
            version=self._logged_version(),
            home=self.home,
        )

    def answers(self) -> bool:
        """True when the broker answers a metadata request."""
        if not _port_open(self.host, self.port):
            return False
        return asyncio.run(_answers_metadata(self.bootstrap))

    # -- internals ----------------------------------------------------------------------
    def _write_config(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        listener = f"{self.host}:{self.port}"
        controller = f"127.0.0.1:{self.controller_port}"
        (self.home / "server.properties").write_text(
            SERVER_PROPERTIES.format(listener=listener, controller=controller, data=self.data)
        )

    def _format(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = _cluster_id()
        cmd = self.java("kafka.tools.StorageTool", "format", "-t", cluster_id,
                        "-c", str(self.home / "server.properties"))  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip().splitlines()[-40:]
            raise LocalServiceError(
                f"formatting Kafka storage failed (exit {result.returncode}):\n" + "\n".join(output)
            )

    def _logged_version(self) -> str | None:
        try:
            log = self.daemon.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return None
        found = re.findall(r"Kafka version: (\S+)", log)
        return found[-1] if found else None


SERVER_PROPERTIES = """\
# Written by `agentstream broker up`: a single-node KRaft broker for local use.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{controller}
listeners=PLAINTEXT://{listener},CONTROLLER://{controller}
advertised.listeners=PLAINTEXT://{listener}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={data}
num.partitions=1
# Topics are created on purpose (apps create theirs at start): a record to a topic that
# does not exist fails instead of creating one with the wrong partition count.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# Consumers join at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Room for oversized test payloads; the agent runtime enforces its own limit (1 MiB).
message.max.bytes=10485760
replica.fetch.max.bytes=10485760
"""


def _cluster_id() -> str:
    """A random cluster id as Kafka makes them: URL-safe base64 of a UUID, never starting
    with "-" (the storage tool would read it as an option and fail)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


async def _answers_metadata(bootstrap: str) -> bool:
    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await client.bootstrap()
        return bool(client.cluster.brokers())
    except (KafkaError, OSError):
        return False
    finally:
        await client.close()
