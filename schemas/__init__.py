"""Message models: the event envelope and every message type."""

from schemas.envelope import Envelope, EnvelopeError, Headers
from schemas.message import Message

__all__ = ["Envelope", "EnvelopeError", "Headers", "Message"]
