"""Shared fixtures: the real Kafka and Redis, chosen in the design's order.

1. explicit settings in the environment (``AGENTSTREAM_KAFKA__BOOTSTRAP_SERVERS``,
   ``AGENTSTREAM_REDIS__URL``);
2. testcontainers, when a Docker engine answers;
3. the local broker and redis-server started by the project (``agentstream up``).
"""

from __future__ import annotations

import functools
import re
import socket
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from config import KafkaSettings, RedisSettings, Settings
from streams.tools.local import LocalKafka, LocalPostgres, LocalRedis

KAFKA_IMAGE = "apache/kafka:4.1.1"
REDIS_IMAGE = "redis:7-alpine"


@functools.cache
def _docker_engine_answers(sock: str = "/var/run/docker.sock") -> bool:
    """True when a Docker engine answers /_ping on its local socket."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(2)
            conn.connect(sock)
            conn.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in conn.recv(1024)
    except OSError:
        return False


def _kafka(stack: ExitStack, env: Settings) -> str:
    if "bootstrap_servers" in env.kafka.model_fields_set:
        return env.kafka.bootstrap_servers
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer

        container = stack.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
        return str(container.get_bootstrap_server())
    local = LocalKafka(env)
    if local.daemon.pid() is None:
        stack.callback(local.down)
    status = local.up()
    print(f"\nlocal Apache Kafka {status.version} at {status.bootstrap}")
    return status.bootstrap


def _redis(stack: ExitStack, env: Settings) -> str:
    if "url" in env.redis.model_fields_set:
        return env.redis.url
    if _docker_engine_answers():
        from testcontainers.redis import RedisContainer

        container = stack.enter_context(RedisContainer(REDIS_IMAGE))
        host, port = container.get_container_host_ip(), container.get_exposed_port(6379)
        return f"redis://{host}:{port}/0"
    local = LocalRedis(env)
    if local.daemon.pid() is None:
        stack.callback(local.down)
    status = local.up()
    print(f"local Redis {status.version} at {status.url}")
    return status.url


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    """Settings pointing at a real, running Kafka and Redis."""
    env = Settings()
    with ExitStack() as stack:
        bootstrap = _kafka(stack, env)
        redis_url = _redis(stack, env)
        yield env.model_copy(
            update={
                "kafka": KafkaSettings(
                    **{**env.kafka.model_dump(), "bootstrap_servers": bootstrap}
                ),
                "redis": RedisSettings(url=redis_url, password=env.redis.password),
            }
        )


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """The local PostgreSQL (``agentstream postgres up``), started if it is not running
    (and then stopped at the end)."""
    local = LocalPostgres(Settings())
    with ExitStack() as stack:
        if local.daemon.pid() is None and not local.ready():
            stack.callback(local.down)
        local.up()
        yield local


@pytest.fixture
def unique() -> str:
    """A name unique to this test, for topics and consumer groups."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def topic(request: pytest.FixtureRequest, unique: str) -> str:
    name = re.sub(r"[^a-zA-Z0-9]+", "-", request.node.name)[:40].strip("-")
    return f"{name}-{unique}"


@pytest.fixture
def group(unique: str) -> str:
    return f"g-{unique}"
