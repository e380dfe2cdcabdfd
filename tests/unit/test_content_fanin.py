"""Fan-in and the once-per-run markers, on keyed state in memory (the real KeyedState on
streams.testing's Redis; the same operations run against Redis in
tests/integration/test_content.py)."""

from __future__ import annotations

from agents.content import fanin
from schemas.content import Job, SectionDraft
from streams import KeyedState
from streams.testing import MemoryRedis

JOB = Job(request_id="r1", run="e1", topic="t", audience="a", title="T", max_review_rounds=1)


def memory_state() -> KeyedState:
    return KeyedState(MemoryRedis(), "content")


def section(index: int, count: int = 3, writer: str = "research") -> SectionDraft:
    return SectionDraft.model_validate(
        {"job": JOB, "index": index, "count": count, "kind": "research", "title": f"s{index}",
         "writer": writer, "text": f"text {index}"}
    )  # fmt: skip


async def test_sections_complete_once_in_index_order_whatever_the_arrival() -> None:
    state = memory_state()
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
    done = await fanin.gather(memory_state(), section(0, count=1), 60)
    assert done is not None
    assert [d.index for d in done] == [0]


async def test_marker_tells_a_redelivery_from_a_duplicate() -> None:
    state = memory_state()
    assert await fanin.emitted(state, "k", "event-a") is None
    await fanin.mark(state, "k", "event-a", {"body": "x"}, 60)
    again = await fanin.emitted(state, "k", "event-a")
    assert again == fanin.Emitted({"body": "x"}, mine=True)
    other = await fanin.emitted(state, "k", "event-b")
    assert other == fanin.Emitted({"body": "x"}, mine=False)


def test_sections_key_is_per_run() -> None:
    assert fanin.sections_key("e1") == "content:sections:e1"
