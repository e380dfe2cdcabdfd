"""Message models: the event envelope and every message type."""

from schemas.envelope import Envelope, EnvelopeError, Headers
from schemas.message import Failed, Message

__all__ = ["Envelope", "EnvelopeError", "Failed", "Headers", "Message"]
