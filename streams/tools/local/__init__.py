"""Local single-node Kafka (KRaft), Redis and PostgreSQL for development, tests and
demos."""

from config import Settings
from streams.tools.local.kafka import LOCAL_HOSTS, LocalKafka
from streams.tools.local.postgres import LocalPostgres
from streams.tools.local.process import LocalServiceError
from streams.tools.local.redis import LocalRedis


def ensure_local(settings: Settings) -> list[str]:
    """Start the local broker and Redis when the settings point at this host and nothing
    answers there yet (a broker or Redis already running, ours or not, is used as it is).
    Returns what it found or started, one line each."""
    said = []
    kafka, redis = LocalKafka(settings), LocalRedis(settings)
    if kafka.host in LOCAL_HOSTS and not kafka.answers():
        status = kafka.up()
        said.append(f"started kafka {status.version} at {status.bootstrap}")
    else:
        said.append(f"kafka at {settings.kafka.bootstrap_servers}")
    if redis.host in LOCAL_HOSTS and redis.version() is None:
        said.append(f"started redis {redis.up().version} at {settings.redis.url}")
    else:
        said.append(f"redis at {settings.redis.url}")
    return said


__all__ = ["LocalKafka", "LocalPostgres", "LocalRedis", "LocalServiceError", "ensure_local"]
