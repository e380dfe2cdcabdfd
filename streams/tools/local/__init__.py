"""Local single-node Kafka (KRaft) and Redis for development, tests and demos."""

from streams.tools.local.kafka import LocalKafka
from streams.tools.local.process import LocalServiceError
from streams.tools.local.redis import LocalRedis

__all__ = ["LocalKafka", "LocalRedis", "LocalServiceError"]
