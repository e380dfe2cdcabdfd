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
    └── ConfigurationError          an agent or app was declared wrongly

Exceptions from outside this tree are retriable when they are ``TimeoutError`` or
``ConnectionError`` (the network may come back) and final otherwise (a bug does not fix
itself by running again).
"""

from __future__ import annotations

from typing import ClassVar, Literal

Stage = Literal["decode", "validate", "dispatch", "handle", "timeout", "produce"]

TRANSIENT_BUILTINS: tuple[type[BaseException], ...] = (TimeoutError, ConnectionError)


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


class ConfigurationError(AgentStreamError):
    pass


def is_retriable(exc: BaseException) -> bool:
    """Whether running the handler again may succeed."""
    if isinstance(exc, AgentStreamError):
        return exc.retriable
    return isinstance(exc, TRANSIENT_BUILTINS)


def stage_of(exc: BaseException) -> Stage:
    return exc.stage if isinstance(exc, AgentStreamError) else "handle"
