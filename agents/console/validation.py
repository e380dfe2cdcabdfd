"""What the gateway accepts from outside, checked before anything reaches a topic: a
malformed request gets a 400 naming the field and the rule, never a stack trace."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.support import Inquiry

MAX_DEPTH = 8
M = TypeVar("M", bound=BaseModel)


class BadRequest(ValueError):
    """A request body the gateway refuses; the message is safe to show the caller."""


class AnswerForm(BaseModel):
    """A person's answer to an escalation, from the console form or the API."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    ticket: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=8000)
    agent_name: str = Field(default="console", min_length=1, max_length=128)


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object, or :class:`BadRequest` saying why not."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    if _depth(data) > MAX_DEPTH:
        raise BadRequest(f"the body is nested deeper than {MAX_DEPTH} levels")
    return data


def inquiry(body: bytes) -> Inquiry:
    """An :class:`Inquiry` from a JSON body ``{customer_id, text, lang?, channel?}``."""
    data = json_object(body)
    if data.get("lang") in ("", "auto"):
        data.pop("lang")
    return _validated(Inquiry, data)


def answer(data: dict[str, Any]) -> AnswerForm:
    """An :class:`AnswerForm` from form fields or a JSON object."""
    if data.get("agent_name") == "":
        data = {k: v for k, v in data.items() if k != "agent_name"}
    return _validated(AnswerForm, data)


def _validated(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise BadRequest(describe(e)) from e


def describe(error: ValidationError) -> str:
    """One line per problem: ``field: message`` (the offending values are left out)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level
