"""What the gateway accepts from outside, checked before anything reaches a topic: a
malformed request gets a 400 naming the field and the rule, never a stack trace."""

from __future__ import annotations

import codecs
import urllib.parse
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.support import Inquiry
from streams.codec import decode_json
from streams.errors import DecodeError

MAX_DEPTH = 8
# A refusal names at most this many problems (then how many more there were).
MAX_PROBLEMS = 5
MAX_FORM_FIELDS = 20
M = TypeVar("M", bound=BaseModel)


class BadRequest(ValueError):
    """A request body the gateway refuses; the message is safe to show the caller."""


class NotYours(BadRequest):
    """The body names a customer other than the authenticated one."""


class AnswerForm(BaseModel):
    """A person's answer to an escalation, from the console form or the API."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    ticket: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=8000)
    agent_name: str = Field(default="console", min_length=1, max_length=128)


def json_object(body: bytes) -> dict[str, Any]:
    """``body`` as a JSON object, or :class:`BadRequest` saying why not (not UTF-8, not
    JSON, nested deeper than :data:`MAX_DEPTH`: checked without recursion)."""
    try:
        data = decode_json(body, len(body), MAX_DEPTH)
    except DecodeError as e:
        raise BadRequest(f"the body is not accepted: {e}") from e
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def form(body: bytes, content_type: str, charset: str | None) -> dict[str, str]:
    """The fields of an ``application/x-www-form-urlencoded`` body (the last of a
    repeated name), or :class:`BadRequest`: another type, an unknown or wrong charset,
    more than :data:`MAX_FORM_FIELDS` fields."""
    if content_type != "application/x-www-form-urlencoded":
        raise BadRequest("send the form as application/x-www-form-urlencoded")
    try:
        text = body.decode(codecs.lookup(charset or "utf-8").name)
    except LookupError as e:
        raise BadRequest(f"unknown charset {charset!r}") from e
    except UnicodeDecodeError as e:
        raise BadRequest(f"the form is not valid {charset or 'utf-8'}") from e
    try:
        pairs = urllib.parse.parse_qsl(
            text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS, errors="strict"
        )
    except (ValueError, UnicodeDecodeError) as e:
        raise BadRequest("the form is malformed or has too many fields") from e
    return dict(pairs)


def inquiry(body: bytes, customer_id: str) -> Inquiry:
    """An :class:`Inquiry` of ``customer_id`` (the authenticated customer) from a JSON
    body ``{text, lang?, channel?, customer_id?}``; a ``customer_id`` in the body must be
    that customer (:class:`NotYours`)."""
    data = json_object(body)
    given = data.pop("customer_id", None)
    if given is not None and given != customer_id:
        raise NotYours("customer_id is not the customer your credential says you are")
    if data.get("lang") in ("", "auto"):
        data.pop("lang")
    return _validated(Inquiry, {**data, "customer_id": customer_id})


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
    """``field: message`` per problem, the first :data:`MAX_PROBLEMS` of them (field
    names cut at 40 characters; the offending values are left out)."""
    items = error.errors(include_url=False, include_input=False)
    parts = []
    for item in items[:MAX_PROBLEMS]:
        where = ".".join(str(p) for p in item["loc"])[:40] or "body"
        parts.append(f"{where}: {item['msg']}")
    if len(items) > MAX_PROBLEMS:
        parts.append(f"and {len(items) - MAX_PROBLEMS} more")
    return "; ".join(parts)
