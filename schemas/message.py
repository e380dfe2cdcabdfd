"""The base of every message type."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """A message on the wire. Its ``ce_type`` is ``message_type``, by default
    ``<last module part>.<ClassName>`` (``schemas.support.Inquiry`` -> ``support.Inquiry``).

    Unknown fields are rejected (``extra="forbid"``) so a producer's typo becomes a dead
    letter instead of silently lost data. Validation errors do not repeat the input
    (``hide_input_in_errors``): they end up in dead-letter headers and logs, and the
    input may hold personal data.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    message_type: ClassVar[str] = "Message"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "message_type" not in cls.__dict__:
            cls.message_type = f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


class Failed(Message):
    """The answer to a request (an event with ``ce_replyto``) that became a dead letter, so
    that whoever waits for the reply learns at once why (``Client.ask`` raises
    ``RequestFailed``). The dead letter itself is in ``dead_letter_topic``."""

    message_type: ClassVar[str] = "agentstream.Failed"

    agent: str
    stage: str
    error: str
    message: str
    dead_letter_topic: str
