"""CloudEvents 1.0 Kafka binding, binary mode: the attributes travel as ``ce_*`` headers.

The value is the message itself as JSON; the key is the ordering key. The envelope is a
slotted dataclass, not a pydantic model, because it is built for every event on the hot
path and its fields are plain strings checked by :meth:`Envelope.from_headers`. It is not
``frozen`` for the same reason (a frozen dataclass sets each field through
``object.__setattr__``, which doubles the cost of building one); treat it as a value and
derive changed copies with ``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import time as _time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_SPECVERSION_BYTES = SPECVERSION.encode()
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()

Headers = list[tuple[str, bytes]]


class EnvelopeError(ValueError):
    """Headers that do not make a CloudEvent: a required one is missing or not UTF-8."""


@dataclasses.dataclass(slots=True)
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
    # CloudEvents Auth Context extension: who caused the event, as the gateway that
    # authenticated them says (``authtype`` "app_user", ``authid`` the customer id). Only
    # a producer trusted to write the topic sets them; successors carry them on.
    authtype: str | None = None
    authid: str | None = None

    @classmethod
    def new(
        cls,
        type: str,
        source: str,
        *,
        correlationid: str | None = None,
        replyto: str | None = None,
        causationid: str | None = None,
        authid: str | None = None,
    ) -> Envelope:
        """A fresh event: new id, current time; the correlation id defaults to the id.
        ``authid``: the authenticated customer it acts for (``authtype`` "app_user")."""
        event_id = new_id()
        return cls(
            event_id,
            type,
            source,
            SPECVERSION,
            _now(),
            CONTENT_TYPE,
            correlationid or event_id,
            replyto,
            causationid,
            None,
            None if authid is None else "app_user",
            authid,
        )

    def to_headers(self) -> Headers:
        headers = [
            ("ce_id", self.id.encode()),
            ("ce_type", self.type.encode()),
            ("ce_source", self.source.encode()),
            ("ce_specversion", self.specversion.encode()),
        ]
        append = headers.append
        if self.time is not None:
            append(("ce_time", self.time.encode()))
        if self.content_type is not None:
            append(("content-type", self.content_type.encode()))
        if self.correlationid is not None:
            append(("ce_correlationid", self.correlationid.encode()))
        if self.replyto is not None:
            append(("ce_replyto", self.replyto.encode()))
        if self.causationid is not None:
            append(("ce_causationid", self.causationid.encode()))
        if self.traceparent is not None:
            append(("traceparent", self.traceparent.encode()))
        if self.authid is not None:
            append(("ce_authtype", (self.authtype or "app_user").encode()))
            append(("ce_authid", self.authid.encode()))
        return headers

    def successor_headers(
        self, type: str, source: str, *, forward: bool = False, traceparent: str | None = None
    ) -> Headers:
        """Headers of a new event caused by this one: a fresh id and time, this event's
        correlation id, this id as the causation id, and this event's ``traceparent`` (so
        a trace follows the event across topics). Equal to ``Envelope.new(...,
        correlationid=..., causationid=...).to_headers()`` plus the trace context, built
        without the intermediate object because every result takes this path.

        ``forward`` also keeps this event's ``ce_replyto``: the new event carries the
        request on, and whichever agent handles it answers the original asker.
        ``traceparent`` replaces this event's own (the span that handled it, when tracing).
        The auth context (``ce_authtype``, ``ce_authid``) is kept: a successor acts for
        the same customer."""
        event_id = new_id()
        headers = [
            ("ce_id", event_id.encode()),
            ("ce_type", type.encode()),
            ("ce_source", source.encode()),
            ("ce_specversion", _SPECVERSION_BYTES),
            ("ce_time", _now().encode()),
            ("content-type", _CONTENT_TYPE_BYTES),
            ("ce_correlationid", (self.correlationid or event_id).encode()),
            ("ce_causationid", self.id.encode()),
        ]
        if forward and self.replyto is not None:
            headers.append(("ce_replyto", self.replyto.encode()))
        traceparent = traceparent or self.traceparent
        if traceparent is not None:
            headers.append(("traceparent", traceparent.encode()))
        if self.authid is not None:
            headers.append(("ce_authtype", (self.authtype or "app_user").encode()))
            headers.append(("ce_authid", self.authid.encode()))
        return headers

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> Envelope:
        """Parse the ``ce_*`` headers; other headers are ignored."""
        attrs: dict[str, str] = {}
        field_of = _FIELD_OF_HEADER.get
        for name, raw in headers:
            field = field_of(name)
            if field is not None:
                try:
                    attrs[field] = raw.decode()
                except UnicodeDecodeError as e:
                    raise EnvelopeError(f"header {name} is not valid UTF-8") from e
        if not (attrs.get("id") and attrs.get("type") and attrs.get("source")):
            missing = [_HEADER_OF_FIELD[f] for f in _REQUIRED if not attrs.get(f)]
            raise EnvelopeError(f"missing CloudEvents header(s): {', '.join(missing)}")
        if attrs.get("specversion") != SPECVERSION:
            raise EnvelopeError(f"unsupported ce_specversion {attrs.get('specversion')!r}")
        return cls(**attrs)


# Event ids: a random per-process prefix and a counter; unique without a syscall per id.
# A process forked after import draws a prefix of its own (it would repeat the parent's ids).
_ID_PREFIX = uuid.uuid4().hex[:16]
_ID_COUNTER = itertools.count()


def _new_prefix() -> None:
    global _ID_PREFIX, _ID_COUNTER
    _ID_PREFIX = uuid.uuid4().hex[:16]
    _ID_COUNTER = itertools.count()


os.register_at_fork(after_in_child=_new_prefix)


def new_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):016x}"


_clock: tuple[int, str] = (0, "")


def _now() -> str:
    """ISO 8601 UTC time to the millisecond, formatted once per millisecond."""
    global _clock
    ms = int(_time.time() * 1000)
    if _clock[0] != ms:
        stamp = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
        _clock = (ms, stamp)
    return _clock[1]


_FIELDS = tuple(f.name for f in dataclasses.fields(Envelope))
_REQUIRED = ("id", "type", "source", "specversion")
_HEADER_OF_FIELD = {
    f: {"content_type": "content-type", "traceparent": "traceparent"}.get(f, f"ce_{f}")
    for f in _FIELDS
}
_FIELD_OF_HEADER = {h: f for f, h in _HEADER_OF_FIELD.items()}

#: The Kafka header of each attribute (``id`` -> ``ce_id``, ``content_type`` ->
#: ``content-type``), and the headers every event must carry: what other languages'
#: producers and consumers, and the AsyncAPI document, need to know of the wire.
HEADER_NAMES: Mapping[str, str] = MappingProxyType(_HEADER_OF_FIELD)
REQUIRED_HEADERS: tuple[str, ...] = tuple(_HEADER_OF_FIELD[f] for f in _REQUIRED)
