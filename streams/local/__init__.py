"""Local single-node Kafka (KRaft) and Redis for development, tests and demos."""

from streams.local.kafka import LocalKafka
from streams.local.process import LocalServiceError
from streams.local.redis import LocalRedis

__all__ = ["LocalKafka", "LocalRedis", "LocalServiceError"]
