"""Typed settings and deploy configuration files."""

from config.settings import (
    BatchDefaults,
    KafkaSettings,
    Limits,
    LocalSettings,
    RedisSettings,
    RetryDefaults,
    Settings,
    TracingSettings,
)

__all__ = [
    "BatchDefaults",
    "KafkaSettings",
    "Limits",
    "LocalSettings",
    "RedisSettings",
    "RetryDefaults",
    "Settings",
    "TracingSettings",
]
