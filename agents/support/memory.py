"""Conversation memory: the last few turns of each customer, in keyed state (Redis).

The router appends one turn per inquiry under ``memory:<customer id>``, keeping
``settings.support.memory_turns`` turns for ``settings.support.memory_ttl`` seconds.
A turn holds masked text only. Delivery is at least once, so a redelivered inquiry may
append its turn twice: readers drop repeats by inquiry id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from schemas.support import CATEGORIES, URGENCIES, Category, Lang, Urgency
from streams.state import KeyedState


@dataclass(frozen=True, slots=True)
class Turn:
    inquiry_id: str
    text: str  # masked
    lang: Lang
    category: Category
    urgency: Urgency
    at: str  # ISO 8601, when the inquiry was received


def key(customer_id: str) -> str:
    return f"memory:{customer_id}"


def parse(raw: Iterable[Any] | None) -> list[Turn]:
    """Turns from stored records, oldest first, each inquiry once; records that are not
    turns (written by an older version, or damaged) are skipped."""
    seen: set[str] = set()
    turns: list[Turn] = []
    for item in raw or ():
        turn = _turn(item)
        if turn is not None and turn.inquiry_id not in seen:
            seen.add(turn.inquiry_id)
            turns.append(turn)
    return turns


def before(turns: list[Turn], inquiry_id: str) -> list[Turn]:
    """The turns that came before ``inquiry_id`` (all of them if it is not there)."""
    for i, turn in enumerate(turns):
        if turn.inquiry_id == inquiry_id:
            return turns[:i]
    return turns


class Memory:
    """One customer's conversation: read it, append a turn to it."""

    def __init__(self, state: KeyedState, turns: int, ttl: float) -> None:
        self.state = state
        self.turns = turns
        self.ttl = ttl

    async def recall(self, customer_id: str) -> list[Turn]:
        """The remembered turns, oldest first."""
        return parse(await self.state.items(key(customer_id)))[-self.turns :]

    async def remember(self, customer_id: str, turn: Turn) -> list[Turn]:
        """Append ``turn``; the conversation including it. One more slot is kept than
        asked for, so that a repeated turn does not push out the oldest real one."""
        raw = await self.state.append(
            key(customer_id), asdict(turn), keep=self.turns + 1, ttl=self.ttl
        )
        return parse(raw)[-self.turns :]


def _turn(item: Any) -> Turn | None:
    if not isinstance(item, dict):
        return None
    try:
        turn = Turn(**item)
    except TypeError:
        return None
    ok = (
        turn.lang in ("en", "zh")
        and turn.category in CATEGORIES
        and turn.urgency in URGENCIES
        and all(isinstance(v, str) for v in (turn.inquiry_id, turn.text, turn.at))
    )
    return turn if ok else None
