"""Messages of the echo agent, the smallest useful agent (smoke tests, demos, images)."""

from schemas.message import Message


class Ping(Message):
    text: str
    seq: int = 0


class Pong(Message):
    text: str
    seq: int = 0
    worker: int
