"""JSON lines to send: each line one JSON object, with an optional key taken from one of
its fields. A line that is not such an object is a :class:`BadLine` with its number,
reported and skipped by the caller; blank lines are passed over."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


@dataclass(frozen=True, slots=True)
class Line:
    number: int  # 1-based
    value: bytes  # the object as JSON
    key: bytes | None


@dataclass(frozen=True, slots=True)
class BadLine:
    number: int
    reason: str


class BadJson(ValueError):
    """Text that is not one JSON object, or an object without a usable key."""


def parse_object(text: str | bytes) -> dict[str, Any]:
    """One JSON object; :class:`BadJson` saying why otherwise."""
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError as e:
        raise BadJson(f"not JSON: {e}") from e
    if not isinstance(obj, dict):
        raise BadJson(f"a JSON object is needed, not {type(obj).__name__}")
    return obj


def key_of(obj: dict[str, Any], field: str) -> bytes:
    """The ordering key from ``field``: a string as it is, a number or boolean as JSON."""
    if obj.get(field) is None:
        raise BadJson(f"no {field!r} field for the key")
    value = obj[field]
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int | float | bool):
        return orjson.dumps(value)
    raise BadJson(f"the key field {field!r} holds a {type(value).__name__}, not a scalar")


def parse_line(
    number: int, text: str | bytes, key_field: str | None = None, key: bytes | None = None
) -> Line | BadLine | None:
    """A line to send, a bad line, or None for a blank one."""
    if not text.strip():
        return None
    try:
        obj = parse_object(text)
        found = key if key_field is None else key_of(obj, key_field)
    except BadJson as e:
        return BadLine(number, str(e))
    return Line(number, orjson.dumps(obj), found)
