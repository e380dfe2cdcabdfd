"""Fan-in and duplicate suppression on keyed state (``ctx.state``, Redis).

Sections of one run are gathered in a hash, one field per index: a section written twice
(a writer's event redelivered after a crash) overwrites its own field, so the count of
fields reaches the number of sections exactly once per run.

An output that must go out once per run (the assembled draft, the published piece) is
marked with the id of the event that emitted it, together with the output. A different
event arriving later for the same run (a duplicate from upstream) emits nothing. The
same event arriving again (redelivered because the worker died before its offset was
committed, maybe before its output reached the broker) emits the stored output again: a
possible duplicate, never a loss. The marker is written before the output is published,
so it cannot tell those two fates of the same event apart; nothing can, from inside the
handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from schemas.content import SectionDraft


class State(Protocol):
    """The part of ``streams.state.KeyedState`` used here."""

    async def get(self, key: str) -> Any: ...

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None: ...

    async def delete(self, key: str) -> None: ...

    async def put_field(
        self, key: str, field: str, value: Any, ttl: float | None = None
    ) -> int: ...

    async def fields(self, key: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Emitted:
    value: Any
    mine: bool  # emitted by the event asking: it is a redelivery, emit again


def sections_key(run: str) -> str:
    return f"content:sections:{run}"


async def emitted(state: State, key: str, event_id: str) -> Emitted | None:
    """What was emitted for ``key`` and whether by ``event_id``; None if nothing was."""
    marker = await state.get(key)
    if marker is None:
        return None
    return Emitted(marker["value"], marker["by"] == event_id)


async def mark(state: State, key: str, event_id: str, value: Any, ttl: float) -> None:
    await state.put(key, {"by": event_id, "value": value}, ttl)


async def gather(state: State, draft: SectionDraft, ttl: float) -> list[SectionDraft] | None:
    """Every section of ``draft``'s run in index order once this one completes them;
    None while some are missing."""
    key = sections_key(draft.job.run)
    held = await state.put_field(key, str(draft.index), draft.model_dump(mode="json"), ttl)
    if held < draft.count:
        return None
    drafts = [SectionDraft.model_validate(v) for v in (await state.fields(key)).values()]
    return sorted(drafts, key=lambda d: d.index)
