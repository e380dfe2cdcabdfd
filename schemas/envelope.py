"""CloudEvents 1.0 Kafka binding, binary mode: the attributes travel as ``ce_*`` headers.

The value is the message itself as JSON; the key is the ordering key. The envelope is a
slotted dataclass, not a pydantic model, because it is built for every event on the hot
path and its fields are plain strings checked by :meth:`Envelope.from_headers`.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """Headers that do not make a CloudEvent: a required one is missing or not UTF-8."""


@dataclasses.dataclass(frozen=True, slots=True)
class Envelope:
    """The CloudEvents attributes of one event, plus our extensions."""

    id: str
    type: str
    source: str
    specversion: str = SPECVERSION
    time: str | None = None
    content_type: str | None = CONTENT_TYPE
    correlationid: str | None = None
    replyto: str | None = None
    causationid: str | None = None
    traceparent: str | None = None

    @classmethod
    def new(
        cls,
        type: str,
        source: str,
        *,
        correlationid: str | None = None,
        replyto: str | None = None,
        causationid: str | None = None,
    ) -> Envelope:
        """A fresh event: new id, current time; the correlation id defaults to the id."""
        event_id = uuid.uuid4().hex
        return cls(
            id=event_id,
            type=type,
            source=source,
            time=datetime.now(UTC).isoformat(timespec="milliseconds"),
            correlationid=correlationid or event_id,
            replyto=replyto,
            causationid=causationid,
        )

    def to_headers(self) -> Headers:
        return [
            (_HEADER_OF_FIELD[f], value.encode())
            for f in _FIELDS
            if (value := getattr(self, f)) is not None
        ]

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> Envelope:
        """Parse the ``ce_*`` headers; other headers are ignored."""
        attrs: dict[str, str] = {}
        for name, raw in headers:
            field = _FIELD_OF_HEADER.get(name)
            if field is None:
                continue
            try:
                attrs[field] = raw.decode()
            except UnicodeDecodeError as e:
                raise EnvelopeError(f"header {name} is not valid UTF-8") from e
        missing = [_HEADER_OF_FIELD[f] for f in _REQUIRED if not attrs.get(f)]
        if missing:
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
        if attrs["specversion"] != SPECVERSION:
            raise EnvelopeError(f"unsupported ce_specversion {attrs['specversion']!r}")
        return cls(**attrs)


_FIELDS = tuple(f.name for f in dataclasses.fields(Envelope))
_REQUIRED = ("id", "type", "source", "specversion")
_HEADER_OF_FIELD = {
    f: {"content_type": "content-type", "traceparent": "traceparent"}.get(f, f"ce_{f}")
    for f in _FIELDS
}
_FIELD_OF_HEADER = {h: f for f, h in _HEADER_OF_FIELD.items()}
