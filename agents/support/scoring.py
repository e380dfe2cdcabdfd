"""How ``agentstream support eval`` scores the flow's replies against expected outcomes.

Each labelled inquiry expects one outcome:

* ``answer``: the agents answer it, from one of ``entries`` when they are given (a KB
  entry id, or ``catalogue`` for "we do not sell that");
* ``escalate``: it must reach a person, in ``queue`` when one is given;
* ``action``: the customer asks for an account task to be done (``action`` names it).
  Until the flow has tool agents, a person does these: an escalation (in ``queue`` when
  given) is the right outcome, counted as handled but not as automated.

Figures, over any group of inquiries:

* ``automation``: answered by the agents / inquiries;
* ``precision``: answers that were right (expected an answer, and from an expected entry
  when entries are given) / answers;
* ``escalation_recall``: inquiries that had to reach a person (expected ``escalate`` or
  ``action``) and did / those inquiries;
* ``task_success``: inquiries whose outcome was right, whichever it was / inquiries;
* ``action_share``: of the escalations, those that asked for an account task
  (expected ``action``);
* latency percentiles (seconds from sending to the reply, nearest rank).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.support import Lang

Expected = Literal["answer", "escalate", "action"]


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: Expected
    entries: list[str] = Field(default_factory=list)
    queue: str | None = None
    action: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Expectation:
        if self.entries and self.outcome != "answer":
            raise ValueError("entries are given only for an expected answer")
        return self


@dataclass(frozen=True, slots=True)
class Result:
    """One inquiry's reply as the eval saw it (``status`` None: no reply)."""

    id: str
    lang: Lang
    group: str  # the line's category, else the reply's
    expected: Expectation
    status: str | None
    sources: tuple[str, ...] = ()
    queue: str | None = None
    action: str | None = None
    seconds: float | None = None

    @property
    def answered(self) -> bool:
        return self.status == "answered"

    @property
    def escalated(self) -> bool:
        return self.status == "escalated"

    @property
    def right_answer(self) -> bool:
        e = self.expected
        if not self.answered or e.outcome != "answer":
            return False
        return not e.entries or bool(set(self.sources) & set(e.entries))

    @property
    def needs_person(self) -> bool:
        return self.expected.outcome in ("escalate", "action")

    @property
    def success(self) -> bool:
        """The outcome was right, whichever it was."""
        if self.expected.outcome == "answer":
            return self.right_answer
        return self.escalated and _same_queue(self.queue, self.expected.queue)


def figures(results: Sequence[Result]) -> dict[str, Any]:
    """The figures of ``results`` (see the module docstring)."""
    answered = [r for r in results if r.answered]
    needing = [r for r in results if r.needs_person]
    escalated = [r for r in results if r.escalated]
    times = sorted(r.seconds for r in results if r.seconds is not None)
    return {
        "inquiries": len(results),
        "replied": sum(r.status is not None for r in results),
        "answered": len(answered),
        "escalated": len(escalated),
        "automation": _ratio(len(answered), len(results)),
        "precision": _ratio(sum(r.right_answer for r in answered), len(answered)),
        "right_answers": sum(r.right_answer for r in answered),
        "escalation_recall": _ratio(sum(r.escalated for r in needing), len(needing)),
        "needing_person": len(needing),
        "needing_escalated": sum(r.escalated for r in needing),
        "task_success": _ratio(sum(r.success for r in results), len(results)),
        "action_share": _ratio(
            sum(r.expected.outcome == "action" for r in escalated), len(escalated)
        ),
        "latency_p50": percentile(times, 50),
        "latency_p95": percentile(times, 95),
        "latency_p99": percentile(times, 99),
    }


def by_group(results: Iterable[Result]) -> dict[str, dict[str, Any]]:
    """Figures for everything, per language, and per language and group."""
    rows = list(results)
    out = {"all": figures(rows)}
    for lang in sorted({r.lang for r in rows}):
        mine = [r for r in rows if r.lang == lang]
        out[lang] = figures(mine)
        for group in sorted({r.group for r in mine}):
            out[f"{lang}/{group}"] = figures([r for r in mine if r.group == group])
    return out


def percentile(ordered: Sequence[float], p: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1], 3)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _same_queue(got: str | None, expected: str | None) -> bool:
    if expected is None:
        return True
    return got is not None and got.rstrip("s").lower() == expected.rstrip("s").lower()
