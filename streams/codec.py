"""Bytes <-> messages. Decoding runs in our code on raw bytes, so bad input becomes a
dead letter with a precise stage instead of an exception inside the consumer."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
import pydantic

from schemas import Message
from streams.errors import DecodeError, SchemaError

M = TypeVar("M", bound=Message)


def decode_json(raw: bytes | None, max_bytes: int, max_depth: int) -> Any:
    """Parse a JSON value, refusing oversized, non-UTF-8, invalid or too deeply nested input."""
    if raw is None:
        raise DecodeError("the record has no value")
    if len(raw) > max_bytes:
        raise DecodeError(f"value of {len(raw)} bytes exceeds the limit of {max_bytes} bytes")
    try:
        raw.decode()
    except UnicodeDecodeError as e:
        raise DecodeError(f"value is not valid UTF-8: {e}") from e
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as e:
        raise DecodeError(f"value is not valid JSON: {e}") from e
    # Cheap bound first: a value with fewer brackets than the limit cannot nest deeper.
    if raw.count(b"[") + raw.count(b"{") > max_depth:
        _check_depth(obj, max_depth)
    return obj


def _check_depth(obj: Any, max_depth: int) -> None:
    """Walk the parsed containers iteratively; fail past ``max_depth`` levels."""
    if not isinstance(obj, dict | list):
        return
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise DecodeError(f"JSON nested deeper than {max_depth} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def parse(model: type[M], raw: bytes | None, max_bytes: int, max_depth: int) -> M:
    """Bytes to a validated message. Plainly fine input is parsed and validated in one
    pass by pydantic; anything else takes the staged path, whose error says whether the
    bytes (``DecodeError``) or the content (``SchemaError``) are wrong."""
    if raw is not None and len(raw) <= max_bytes and raw.count(b"[") + raw.count(b"{") <= max_depth:
        try:
            return model.model_validate_json(raw)
        except pydantic.ValidationError:
            pass
    decode_json(raw, max_bytes, max_depth)
    try:
        return model.model_validate_json(raw)  # type: ignore[arg-type] # checked above
    except pydantic.ValidationError as e:
        raise SchemaError(f"{model.message_type}: {e}") from e


def validate(model: type[M], obj: Any) -> M:
    try:
        return model.model_validate(obj)
    except pydantic.ValidationError as e:
        raise SchemaError(f"{model.message_type}: {e}") from e


def encode(msg: Message) -> bytes:
    return msg.__pydantic_serializer__.to_json(msg)
