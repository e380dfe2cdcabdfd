"""What a handler sees besides its message: the envelope, the key, ``send`` and
``forward``, and the app's keyed state."""

from __future__ import annotations

from typing import TYPE_CHECKING

from schemas import Envelope, Message
from streams.codec import encode
from streams.errors import ConfigurationError
from streams.records import Inbound

if TYPE_CHECKING:
    from streams.publisher import Record
    from streams.state import KeyedState

#: A record sent by a handler: the input it is on behalf of, and the encoded record.
Sent = tuple[Inbound, "Record"]


class Context:
    """Per-event context. ``await ctx.send(topic, msg)`` fans out to another mailbox;
    ``await ctx.forward(topic, msg)`` hands the request on, so that the agent handling
    ``msg`` answers this event's asker. What an attempt sends is published only if the
    attempt succeeds, and the input is committed only after every such record is
    acknowledged. ``ctx.state`` is the app's :class:`~streams.state.KeyedState`."""

    __slots__ = ("_state", "agent", "envelope", "record", "sent")

    def __init__(
        self, agent: str, record: Inbound, envelope: Envelope, state: KeyedState | None = None
    ) -> None:
        self.agent = agent
        self.record = record
        self.envelope = envelope
        self.sent: list[Sent] | None = None  # most handlers send nothing
        self._state = state

    @property
    def key(self) -> bytes | None:
        return self.record.key

    @property
    def state(self) -> KeyedState:
        return _require(self._state)

    async def send(self, topic: str, msg: Message, key: bytes | None = None) -> None:
        """Publish ``msg`` as a new event caused by this one (it carries no ``ce_replyto``:
        its result goes to the receiving agent's reply topic)."""
        if self.sent is None:
            self.sent = []
        self.sent.append((self.record, successor(self.agent, self.record, topic, msg, key)))

    async def forward(self, topic: str, msg: Message, key: bytes | None = None) -> None:
        """Like :meth:`send`, but the new event keeps this event's ``ce_replyto`` and
        correlation id: whichever agent handles it answers the original asker. The
        forwarding handler usually returns None, or its own result goes there too."""
        if self.sent is None:
            self.sent = []
        rec = successor(self.agent, self.record, topic, msg, key, forward=True)
        self.sent.append((self.record, rec))


class BatchContext:
    """Context of a batch handler: one envelope and record per message, in order."""

    __slots__ = ("_state", "agent", "records", "sent")

    def __init__(self, agent: str, records: list[Inbound], state: KeyedState | None = None) -> None:
        self.agent = agent
        self.records = records
        self.sent: list[Sent] = []
        self._state = state

    @property
    def envelopes(self) -> list[Envelope]:
        return [r.envelope for r in self.records if r.envelope is not None]

    @property
    def state(self) -> KeyedState:
        return _require(self._state)

    async def send(
        self, topic: str, msg: Message, key: bytes | None = None, index: int = 0
    ) -> None:
        """Fan out on behalf of message ``index`` of the batch (its causation and fate)."""
        record = self.records[index]
        self.sent.append((record, successor(self.agent, record, topic, msg, key)))

    async def forward(
        self, topic: str, msg: Message, key: bytes | None = None, index: int = 0
    ) -> None:
        """Hand on the request of message ``index``: its ``ce_replyto`` and correlation id
        go with ``msg`` (see :meth:`Context.forward`)."""
        record = self.records[index]
        self.sent.append((record, successor(self.agent, record, topic, msg, key, forward=True)))


def successor(
    agent: str,
    record: Inbound,
    topic: str,
    msg: Message,
    key: bytes | None,
    *,
    forward: bool = False,
) -> Record:
    """``msg`` encoded as an event caused by ``record``, ready for an output batch."""
    assert record.envelope is not None  # noqa: S101 - set for every record handed over
    headers = record.envelope.successor_headers(
        msg.message_type, agent, forward=forward, traceparent=record.trace
    )
    return topic, encode(msg), key, headers


def _require(state: KeyedState | None) -> KeyedState:
    if state is None:
        raise ConfigurationError(
            "ctx.state is available to handlers of a started App (it needs Redis)"
        )
    return state
