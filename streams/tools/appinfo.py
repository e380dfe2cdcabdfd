"""What an app declares, read from its agent specs without a broker: each agent's topics,
policies, the message types it takes (``ce_type`` -> model) and those it answers with
(read from its handlers' return annotations)."""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from typing import Any, Union

from schemas import Message
from streams.agent import AgentSpec
from streams.app import App


def kind_of(spec: AgentSpec) -> str:
    """``batch`` (a list per window), ``handlers`` (a class with ``@handler`` methods) or
    ``function`` (one event at a time)."""
    if spec.batch_fn is not None:
        return "batch"
    if any(inspect.ismethod(route.fn) for route in spec.routes.values()):
        return "handlers"
    return "function"


def message_types(spec: AgentSpec) -> dict[str, type[Message]]:
    """The types the agent takes, by ``ce_type``."""
    return {ce_type: route.model for ce_type, route in sorted(spec.routes.items())}


def reply_types(spec: AgentSpec) -> dict[str, type[Message]]:
    """The types the agent answers with, by ``ce_type``: the message classes named in its
    handlers' return annotations (through ``X | None``, unions and batch lists)."""
    handlers = (
        [spec.batch_fn] if spec.batch_fn is not None else [r.fn for r in spec.routes.values()]
    )
    found: dict[str, type[Message]] = {}
    for fn in handlers:
        for model in _models(_return_annotation(fn)):
            found[model.message_type] = model
    return dict(sorted(found.items()))


def _return_annotation(fn: Any) -> Any:
    try:
        return typing.get_type_hints(fn).get("return")
    except (NameError, TypeError):  # a hint that cannot be resolved says nothing usable
        return None


def _models(annotation: Any) -> list[type[Message]]:
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    if inspect.isclass(annotation) and issubclass(annotation, Message):
        return [annotation]
    return []


def class_path(model: type[Any]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def agent_dict(spec: AgentSpec) -> dict[str, Any]:
    """One agent as plain data: topics, policies, message and reply types."""
    return {
        "name": spec.name,
        "kind": kind_of(spec),
        "mailbox": spec.mailbox,
        "reply_topic": spec.reply_topic,
        "dead_letter_topic": spec.dead_letter_topic,
        "batch": dataclasses.asdict(spec.batch),
        "concurrency": spec.concurrency,
        "backlog": spec.backlog,
        "retry": dataclasses.asdict(spec.retry),
        "timeout": spec.timeout,
        "idempotent": spec.idempotent,
        "messages": {t: class_path(m) for t, m in message_types(spec).items()},
        "replies": {t: class_path(m) for t, m in reply_types(spec).items()},
    }


def app_dict(app: App) -> dict[str, Any]:
    """The app (its id is the consumer group) and every agent."""
    return {
        "app": app.id,
        "group": app.id,
        "partitions": app.partitions,
        "agents": [agent_dict(s) for s in app.specs],
    }


def all_models(app: App) -> dict[str, type[Message]]:
    """Every message type the app takes or answers with, by ``ce_type``."""
    found: dict[str, type[Message]] = {}
    for spec in app.specs:
        found.update(message_types(spec))
        found.update(reply_types(spec))
    return dict(sorted(found.items()))
