"""Fan-in and the once-per-run markers, on an in-memory stand-in for keyed state (the
same operations run against Redis in tests/integration/test_content.py)."""

from __future__ import annotations

from typing import Any

from agents.content import fanin
from schemas.content import Job, SectionDraft

JOB = Job(request_id="r1", run="e1", topic="t", audience="a", title="T", max_review_rounds=1)


class MemoryState:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.hashes: dict[str, dict[str, Any]] = {}

    async def get(self, key: str) -> Any:
        return self.values.get(key)

    async def put(self, key: str, value: Any, ttl: float | None = None) -> None:
        self.values[key] = value

    async def delete(self, key: str) -> None:
        self.values.pop(key, None)
        self.hashes.pop(key, None)

    async def put_field(self, key: str, field: str, value: Any, ttl: float | None = None) -> int:
        self.hashes.setdefault(key, {})[field] = value
        return len(self.hashes[key])

    async def fields(self, key: str) -> dict[str, Any]:
        return dict(self.hashes.get(key, {}))


def section(index: int, count: int = 3, writer: str = "research") -> SectionDraft:
    return SectionDraft.model_validate(
        {"job": JOB, "index": index, "count": count, "kind": "research", "title": f"s{index}",
         "writer": writer, "text": f"text {index}"}
    )  # fmt: skip


async def test_sections_complete_once_in_index_order_whatever_the_arrival() -> None:
    state = MemoryState()
    assert await fanin.gather(state, section(2), 60) is None
    assert await fanin.gather(state, section(0), 60) is None
    assert await fanin.gather(state, section(0, writer="fallback"), 60) is None  # rewritten
    done = await fanin.gather(state, section(1), 60)
    assert done is not None
    assert [(d.index, d.writer) for d in done] == [
        (0, "fallback"),
        (1, "research"),
        (2, "research"),
    ]


async def test_a_single_section_completes_at_once() -> None:
    done = await fanin.gather(MemoryState(), section(0, count=1), 60)
    assert done is not None
    assert [d.index for d in done] == [0]


async def test_marker_tells_a_redelivery_from_a_duplicate() -> None:
    state = MemoryState()
    assert await fanin.emitted(state, "k", "event-a") is None
    await fanin.mark(state, "k", "event-a", {"body": "x"}, 60)
    again = await fanin.emitted(state, "k", "event-a")
    assert again == fanin.Emitted({"body": "x"}, mine=True)
    other = await fanin.emitted(state, "k", "event-b")
    assert other == fanin.Emitted({"body": "x"}, mine=False)


def test_sections_key_is_per_run() -> None:
    assert fanin.sections_key("e1") == "content:sections:e1"
