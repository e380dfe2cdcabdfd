"""The agentstream runtime: declare agents on an :class:`App`, run them with
``agentstream worker``, talk to them with :class:`Client`."""

from streams.agent import handler
from streams.app import App
from streams.cache import Cache
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
from streams.state import KeyedState

__all__ = [
    "AgentStreamError",
    "App",
    "Batch",
    "BatchContext",
    "Cache",
    "Client",
    "ConfigurationError",
    "Context",
    "DecodeError",
    "DispatchError",
    "FatalError",
    "HandlerTimeout",
    "KeyedState",
    "Reply",
    "RequestFailed",
    "RequestTimeout",
    "RetriableError",
    "Retry",
    "SchemaError",
    "UnknownTopic",
    "handler",
]
