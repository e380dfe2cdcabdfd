"""The one error root of agentstream; whether to retry is decided by the error's type.

::

    AgentStreamError                retriable = False
    ├── DecodeError                 bad bytes: size, UTF-8, JSON, depth    stage=decode
    │   └── HeaderError             missing or malformed CloudEvents headers
    ├── SchemaError                 the payload violates the message model  stage=validate
    ├── DispatchError               no handler for this ce_type             stage=dispatch
    ├── RetriableError              retriable = True; raise it (or a subclass) for transient
    │   ├── HandlerTimeout          the handler ran past its timeout        stage=timeout
    │   └── ProduceError            the broker did not acknowledge a record stage=produce
    ├── UnknownTopic                no such topic on the cluster            stage=produce
    ├── RequestTimeout              client.ask got no reply in time
    ├── RequestFailed               client.ask got an agentstream.Failed reply: the request
    │                               became a dead letter (stage and reason in the message)
    ├── ConfigurationError          an agent or app was declared wrongly
    ├── OperationFailed             an operator command cannot do what it was asked (a
    │                               topic that exists already, a group with no offsets)
    └── FatalError                  raised by a handler: stop the worker (exit 1) without
                                    committing the event; another worker takes over

Exceptions from outside this tree are retriable when they are transient: ``TimeoutError``
and ``ConnectionError``, the same errors of the Redis client, and Kafka errors that the
client marks retriable (the network or the service may come back). Others are final (a
bug does not fix itself by running again).
"""

from __future__ import annotations

from typing import ClassVar, Literal

import redis.exceptions
from aiokafka.errors import KafkaError, KafkaTimeoutError

Stage = Literal["decode", "validate", "dispatch", "handle", "timeout", "produce"]

TRANSIENT: tuple[type[BaseException], ...] = (
    TimeoutError,
    KafkaTimeoutError,  # a batch that expired unsent: the broker was unreachable
    ConnectionError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.TryAgainError,
)


class AgentStreamError(Exception):
    """Root of every error agentstream raises."""

    retriable: ClassVar[bool] = False
    stage: ClassVar[Stage] = "handle"


class DecodeError(AgentStreamError):
    stage: ClassVar[Stage] = "decode"


class HeaderError(DecodeError):
    pass


class SchemaError(AgentStreamError):
    stage: ClassVar[Stage] = "validate"


class DispatchError(AgentStreamError):
    stage: ClassVar[Stage] = "dispatch"


class RetriableError(AgentStreamError):
    retriable: ClassVar[bool] = True


class HandlerTimeout(RetriableError):
    stage: ClassVar[Stage] = "timeout"


class ProduceError(RetriableError):
    stage: ClassVar[Stage] = "produce"


class UnknownTopic(AgentStreamError):
    stage: ClassVar[Stage] = "produce"


class RequestTimeout(AgentStreamError, TimeoutError):
    pass


class RequestFailed(AgentStreamError):
    pass


class ConfigurationError(AgentStreamError):
    pass


class OperationFailed(AgentStreamError):
    pass


class FatalError(AgentStreamError):
    """Raise it from a handler when going on is pointless (revoked credentials, a broken
    deployment): the event is not committed, the worker releases its partitions and
    exits 1 so that its supervisor and alerts see it."""


def is_retriable(exc: BaseException) -> bool:
    """Whether running the handler again may succeed."""
    if isinstance(exc, AgentStreamError):
        return exc.retriable
    return is_transient(exc)


def is_transient(exc: BaseException) -> bool:
    """A failure of the network or of a service that may pass by itself."""
    if isinstance(exc, TRANSIENT):
        return True
    return isinstance(exc, KafkaError) and bool(exc.retriable)


def stage_of(exc: BaseException) -> Stage:
    return exc.stage if isinstance(exc, AgentStreamError) else "handle"
