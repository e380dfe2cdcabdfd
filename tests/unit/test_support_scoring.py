"""How `agentstream support eval` scores replies (agents.support.scoring) and reads its
file (agents.support.evaluate)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.support import evaluate
from agents.support.scoring import Expectation, Result, by_group, figures


def result(
    expected: dict[str, object],
    status: str | None,
    sources: tuple[str, ...] = (),
    queue: str | None = None,
    lang: str = "en",
    group: str = "faq",
    seconds: float | None = 0.1,
) -> Result:
    return Result(
        id=str(id(expected)),
        lang=lang,  # type: ignore[arg-type]
        group=group,
        expected=Expectation.model_validate(expected),
        status=status,
        sources=sources,
        queue=queue,
        seconds=seconds,
    )


def test_the_figures_follow_their_definitions() -> None:
    rows = [
        result({"outcome": "answer", "entries": ["kb-en-001"]}, "answered", ("kb-en-001",)),
        result({"outcome": "answer", "entries": ["kb-en-001"]}, "answered", ("kb-en-002",)),
        result({"outcome": "answer"}, "escalated", queue="general"),
        result({"outcome": "escalate", "queue": "billing"}, "escalated", queue="billing"),
        result({"outcome": "escalate", "queue": "complaints"}, "escalated", queue="general"),
        result({"outcome": "escalate"}, "answered", ("kb-en-003",)),
        result({"outcome": "action", "action": "refund_status"}, "escalated", queue="billing"),
        result({"outcome": "escalate"}, None, seconds=None),
    ]
    f = figures(rows)
    assert f["inquiries"] == 8
    assert f["replied"] == 7
    assert f["automation"] == round(3 / 8, 4)
    assert (f["precision"], f["right_answers"], f["answered"]) == (round(1 / 3, 4), 1, 3)
    # had to reach a person: the escalate and action rows (5); 3 did
    assert (f["escalation_recall"], f["needing_person"]) == (round(3 / 5, 4), 5)
    # right: the first answer, the billing escalation, the action handled by a person
    assert f["task_success"] == round(3 / 8, 4)
    assert f["action_share"] == round(1 / 4, 4)
    assert f["latency_p50"] == 0.1


def test_a_queue_is_compared_without_its_plural() -> None:
    row = result({"outcome": "escalate", "queue": "complaint"}, "escalated", queue="complaints")
    assert row.success


def test_groups_per_language_and_category() -> None:
    rows = [
        result({"outcome": "escalate"}, "escalated", lang="en", group="billing"),
        result({"outcome": "escalate"}, "escalated", lang="zh", group="billing"),
        result({"outcome": "escalate"}, "answered", ("x",), lang="zh", group="faq"),
    ]
    groups = by_group(rows)
    assert list(groups) == ["all", "en", "en/billing", "zh", "zh/billing", "zh/faq"]
    assert groups["zh"]["escalation_recall"] == 0.5
    assert groups["en"]["precision"] is None


def test_entries_are_only_for_an_expected_answer() -> None:
    with pytest.raises(ValueError, match="entries are given only"):
        Expectation.model_validate({"outcome": "escalate", "entries": ["kb-en-001"]})


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": 1, "text": "hi"}', "expected: Field required"),
        ('{"id": 1, "text": "hi", "expected": {"outcome": "maybe"}}', "expected.outcome"),
        ('{"id": 1, "text": "", "expected": {"outcome": "answer"}}', "text"),
        ('{"id": 1, "text": "hi", "lang": "fr", "expected": {"outcome": "answer"}}', "lang"),
        ("not json", "line"),
    ],
)
def test_a_bad_line_is_refused_with_its_number(tmp_path: Path, line: str, message: str) -> None:
    good = '{"id": "a", "text": "How do I reset my password?", "expected": {"outcome": "answer"}}'
    path = tmp_path / "eval.jsonl"
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    assert evaluate.run(path, in_flight=1, timeout=1, as_json=False) == 2
    with pytest.raises(ValueError, match=rf"eval.jsonl:3: not an inquiry \(.*{message}"):
        evaluate.read(path)


def test_ids_must_be_unique(tmp_path: Path) -> None:
    line = '{"id": "a", "text": "hi", "expected": {"outcome": "escalate"}}'
    path = tmp_path / "eval.jsonl"
    path.write_text(f"{line}\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="id 'a' appears twice"):
        evaluate.read(path)


def test_the_shipped_files_read() -> None:
    """Every labelled file the README measures reads as an eval file."""
    for name in evaluate.SHIPPED:
        assert evaluate.read(evaluate.shipped_path(name))
