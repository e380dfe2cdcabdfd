"""The agentstream runtime: declare agents on an :class:`App`, run them with
``agentstream worker``, talk to them with :class:`Client`."""

from streams.agent import handler
from streams.app import App
from streams.client import Client, Reply
from streams.context import BatchContext, Context
from streams.errors import (
    AgentStreamError,
    ConfigurationError,
    DecodeError,
    DispatchError,
    FatalError,
    HandlerTimeout,
    RequestFailed,
    RequestTimeout,
    RetriableError,
    SchemaError,
    UnknownTopic,
)
from streams.policy import Batch, Retry

__all__ = [
    "AgentStreamError",
    "App",
    "Batch",
    "BatchContext",
    "Client",
    "ConfigurationError",
    "Context",
    "DecodeError",
    "DispatchError",
    "FatalError",
    "HandlerTimeout",
    "Reply",
    "RequestFailed",
    "RequestTimeout",
    "RetriableError",
    "Retry",
    "SchemaError",
    "UnknownTopic",
    "handler",
]
