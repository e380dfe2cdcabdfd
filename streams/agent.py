"""Agent declarations: what an agent reads, how it batches, and its typed handlers.

Three shapes, one decorator (``App.agent``):

* a function ``async def f(msg: A | B, ctx: Context) -> R | None`` (one event at a time);
* a batch function ``async def f(batch: list[A], ctx: BatchContext) -> list[R | None]``;
* a class whose ``@handler`` methods each take one message type (AutoGen's RoutedAgent).
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, Union

from schemas import Message
from streams.context import BatchContext, Context
from streams.errors import ConfigurationError
from streams.policy import Batch, Retry

EventHandler = Callable[[Any, Context], Awaitable[Message | None]]
Redact = Callable[[bytes], bytes]
BatchHandler = Callable[[list[Any], BatchContext], Awaitable[list[Message | None]]]
F = TypeVar("F", bound=Callable[..., Any])


def handler(fn: F) -> F:
    """Mark a method of a routed agent class as the handler of its message type."""
    fn.__agentstream_handler__ = True  # type: ignore[attr-defined]
    return fn


@dataclass(frozen=True, slots=True)
class Route:
    model: type[Message]
    fn: EventHandler


@dataclass(frozen=True)
class AgentSpec:
    """Everything the runtime needs to run one agent."""

    name: str
    mailbox: str
    reply_topic: str
    batch: Batch
    concurrency: int  # handler calls in flight at once
    backlog: int  # records taken and not yet committed, at most
    retry: Retry
    timeout: float
    idempotent: bool
    routes: dict[str, Route]
    batch_fn: BatchHandler | None = None
    redact: Redact | None = None  # applied to a dead letter's value before it is written

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.mailbox}.dlq"


def routes_of(target: Any) -> tuple[dict[str, Route], BatchHandler | None]:
    """Inspect a function or a class and return its routes by ``ce_type``."""
    if inspect.isclass(target):
        instance = target()
        methods = [
            getattr(instance, n)
            for n, m in inspect.getmembers(target, inspect.isfunction)
            if getattr(m, "__agentstream_handler__", False)
        ]
        if not methods:
            raise ConfigurationError(f"{target.__qualname__} has no @handler methods")
        routes: dict[str, Route] = {}
        for method in methods:
            routes.update(_function_routes(method))
        return routes, None
    if not inspect.iscoroutinefunction(target):
        raise ConfigurationError(f"agent {target!r} must be an async def or a class")
    first = _first_param_type(target)
    if typing.get_origin(first) is list:
        (item,) = typing.get_args(first)
        return {m.message_type: Route(m, _no_single) for m in _message_types(item)}, target
    return _function_routes(target), None


def _function_routes(fn: EventHandler) -> dict[str, Route]:
    if not inspect.iscoroutinefunction(fn):
        raise ConfigurationError(f"handler {fn!r} must be an async def")
    return {m.message_type: Route(m, fn) for m in _message_types(_first_param_type(fn))}


def _first_param_type(fn: Callable[..., Any]) -> Any:
    params = [p for p in inspect.signature(fn).parameters.values() if p.name != "self"]
    if len(params) != 2:
        raise ConfigurationError(f"{fn.__qualname__} must take (message, ctx)")
    hints = typing.get_type_hints(fn)
    if params[0].name not in hints:
        raise ConfigurationError(f"{fn.__qualname__}: annotate {params[0].name} with its type")
    return hints[params[0].name]


def _message_types(annotation: Any) -> list[type[Message]]:
    origin = typing.get_origin(annotation)
    members = typing.get_args(annotation) if origin in (Union, types.UnionType) else (annotation,)
    for m in members:
        if not (inspect.isclass(m) and issubclass(m, Message)):
            raise ConfigurationError(f"{m!r} is not a schemas.Message subclass")
    return list(members)


async def _no_single(msg: Any, ctx: Context) -> Message | None:
    raise ConfigurationError("a batch agent is called with whole batches")
